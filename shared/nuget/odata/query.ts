import { z } from 'zod';
import { ODataError } from './errors';
import {
  compareBy,
  compareValues,
  evaluate,
  Expr,
  OrderBy,
  parseFilter,
  parseOrderBy,
} from './expression';
import { FeedPackage } from './packages';
import { isProperty, PropertyName, Value } from './properties';
import { compareVersions, isNuGetVersion } from '../nugetVersion';

/** The OData system query options symfeed answers; any other `$` option is a 400. */
export interface QueryOptions {
  readonly filter?: Expr;
  readonly orderBy: readonly OrderBy[];
  readonly skip: number;
  readonly top?: number;
  readonly inlineCount: boolean;
}

const count = (name: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a non-negative integer`)
    .transform(Number);

const optionsSchema = z.object({
  $filter: z.string().optional(),
  $orderby: z.string().optional(),
  $skip: count('$skip').optional(),
  $top: count('$top').optional(),
  $inlinecount: z
    .enum(['allpages', 'none'], { error: '$inlinecount must be allpages or none' })
    .optional(),
  // Every entry carries every property; a projection is honoured by sending more than asked.
  $select: z.string().optional(),
  $format: z
    .string()
    .regex(/^(atom|xml|application\/(atom\+)?xml)$/i, 'only the Atom $format is supported')
    .optional(),
});

const SUPPORTED = new Set(Object.keys(optionsSchema.shape));

export function parseQueryOptions(params: URLSearchParams): QueryOptions {
  const system: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!name.startsWith('$')) continue;
    if (!SUPPORTED.has(name)) throw new ODataError(`the query option ${name} is not supported`);
    if (name in system) throw new ODataError(`the query option ${name} is given twice`);
    system[name] = value;
  }
  const parsed = optionsSchema.safeParse(system);
  if (!parsed.success) {
    throw new ODataError(parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  const options = parsed.data;
  for (const selected of options.$select?.split(',') ?? []) {
    if (selected.trim() !== '*' && !isProperty(selected.trim())) {
      throw new ODataError(`$select: the property "${selected.trim()}" is not supported`);
    }
  }
  return {
    ...(options.$filter === undefined ? {} : { filter: parseFilter(options.$filter) }),
    orderBy: options.$orderby === undefined ? [] : parseOrderBy(options.$orderby),
    skip: options.$skip ?? 0,
    ...(options.$top === undefined ? {} : { top: options.$top }),
    inlineCount: options.$inlinecount === 'allpages',
  };
}

/** A function parameter given as an OData string literal (`id='Foo'`); undefined when absent. */
export function stringParameter(params: URLSearchParams, name: string): string | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const literal = /^'((?:[^']|'')*)'$/.exec(raw.trim());
  if (!literal) throw new ODataError(`${name} must be a quoted string such as '${raw}'`);
  return (literal[1] ?? '').replace(/''/g, "'");
}

export function booleanParameter(params: URLSearchParams, name: string): boolean {
  const raw = params.get(name)?.trim().toLowerCase();
  if (raw === undefined || raw === '') return false;
  if (raw !== 'true' && raw !== 'false') throw new ODataError(`${name} must be true or false`);
  return raw === 'true';
}

/** NuGet 4.3+ announces `semVerLevel=2.0.0`; only then may SemVer 2 versions be listed. */
export function semVer2Parameter(params: URLSearchParams): boolean {
  const raw = params.get('semVerLevel');
  if (raw === null) return false;
  if (!isNuGetVersion(raw)) throw new ODataError('semVerLevel must be a version such as 2.0.0');
  return compareVersions(raw, '2.0.0') >= 0;
}

export interface Page {
  readonly entries: readonly FeedPackage[];
  /** How many packages match, before $skip and $top. */
  readonly count: number;
  /** Where the next page starts when the server cut this one short. */
  readonly next?: { readonly skip: number; readonly top?: number };
}

/**
 * Versions order by SemVer precedence, not as strings (1.10.0 after 1.9.0), and ids as NuGet
 * compares them, case-insensitively, so one id's uploads stay together.
 */
function compareProperty(name: PropertyName, a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') {
    if (name === 'Version' || name === 'NormalizedVersion') {
      if (isNuGetVersion(a) && isNuGetVersion(b)) return compareVersions(a, b);
    }
    if (name === 'Id' || name === 'Title') return compareValues(a.toLowerCase(), b.toLowerCase());
  }
  return compareValues(a, b);
}

/**
 * Applies $filter, $orderby, $skip and $top, then cuts the result at `pageSize` entries with a
 * continuation, as OData server-driven paging does: no response lists a whole feed at once.
 */
export function runQuery(
  packages: readonly FeedPackage[],
  options: QueryOptions,
  pageSize: number,
): Page {
  const { filter } = options;
  const matching = filter
    ? packages.filter((p) => evaluate(filter, p.props) === true)
    : [...packages];
  if (options.orderBy.length) {
    const order = compareBy(options.orderBy, compareProperty);
    matching.sort((a, b) => order(a.props, b.props));
  }
  const wanted = matching.slice(
    options.skip,
    options.top === undefined ? undefined : options.skip + options.top,
  );
  if (wanted.length <= pageSize) return { entries: wanted, count: matching.length };
  return {
    entries: wanted.slice(0, pageSize),
    count: matching.length,
    next: {
      skip: options.skip + pageSize,
      ...(options.top === undefined ? {} : { top: options.top - pageSize }),
    },
  };
}
