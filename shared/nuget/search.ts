import { z } from 'zod';
import {
  latestVisible,
  StateSummary,
  visibilityKey,
  visible,
  Visibility,
} from '../listings/listingShapes';
import { PackageView } from '../listings/packageView';
import { IdQuery, IdsFound } from '../listings/readListings';
import { normalizeVersion } from './nugetVersion';
import { RegistrationUrls } from './registrations';

export const MAX_TAKE = 1000;

const flag = z
  .string()
  .optional()
  .transform((value) => value?.toLowerCase() === 'true');

/** SearchQueryService parameters; anything unreadable falls back to the protocol's default. */
export const searchQuerySchema = z.object({
  q: z
    .string()
    .default('')
    .transform((q) => q.slice(0, 1000)),
  skip: z.coerce.number().int().nonnegative().catch(0),
  take: z.coerce.number().int().nonnegative().max(MAX_TAKE).catch(20),
  prerelease: flag,
  semVerLevel: z.string().optional(),
});
export type SearchQuery = z.output<typeof searchQuerySchema>;

export function parseSearchQuery(query: URLSearchParams): SearchQuery {
  return searchQuerySchema.parse({
    q: query.get('q') ?? undefined,
    skip: query.get('skip') ?? undefined,
    take: query.get('take') ?? undefined,
    prerelease: query.get('prerelease') ?? undefined,
    semVerLevel: query.get('semVerLevel') ?? undefined,
  });
}

/**
 * `packageid:Foo` (or `id:Foo`) asks for one id exactly; other terms must each occur in the id.
 * Ids are all symfeed knows of a package, so that is all a search looks at.
 */
export function idQueryOf(query: SearchQuery): IdQuery {
  const exact: string[] = [];
  const terms: string[] = [];
  for (const term of query.q.toLowerCase().split(/\s+/).filter(Boolean)) {
    const field = /^(?:packageid|id):(.+)$/.exec(term);
    if (field?.[1]) exact.push(field[1]);
    else terms.push(term);
  }
  return {
    exact,
    terms,
    seen: {
      prerelease: query.prerelease,
      semVer2: /^[2-9]/.test(query.semVerLevel ?? ''),
      nugetOnly: false,
    },
    skip: query.skip,
    take: query.take,
  };
}

/**
 * Search results, one per id. Every upload lists under a pre-release version (see uploadVersion),
 * so, as SymbolSource's users did with `-prerelease`, clients must ask for pre-releases to see any.
 */
interface SearchVersion {
  readonly version: string;
  readonly downloads: number;
  readonly '@id': string;
}

/**
 * The versions a search answer lists of an id, per summary as remembered (listing documents are
 * shared between requests and never changed): an id of 6,000 versions took about 10 ms a search
 * to list again.
 */
const listed = new WeakMap<StateSummary, Map<string, readonly SearchVersion[]>>();

function versionsShown(urls: RegistrationUrls, summary: StateSummary, seen: Visibility) {
  const byView = listed.get(summary) ?? new Map<string, readonly SearchVersion[]>();
  listed.set(summary, byView);
  const key = `${visibilityKey(seen)} ${urls.registrationBase}`;
  const known = byView.get(key);
  if (known) return known;
  const lowerId = summary.id.toLowerCase();
  const versions = summary.versions
    .filter((version) => visible(version, seen))
    .map((version) => ({
      version,
      downloads: 0,
      '@id': `${urls.registrationBase}${encodeURIComponent(lowerId)}/${encodeURIComponent(normalizeVersion(version))}.json`,
    }));
  byView.set(key, versions);
  return versions;
}

/**
 * The answer's JSON as UTF-8, the same text as `JSON.stringify(answer)`, with each id's versions
 * serialized and encoded once per remembered listing: an id of 6,000 versions makes a 1 MB answer,
 * whose serializing, copying and encoding per request were over a third of a search's CPU.
 */
export function searchJson(answer: ReturnType<typeof search>): Buffer {
  const parts: Buffer[] = [Buffer.from(`{"totalHits":${answer.totalHits},"data":[`)];
  answer.data.forEach(({ versions, ...result }, at) => {
    const head = `${at ? ',' : ''}${JSON.stringify(result).slice(0, -1)},"versions":`;
    parts.push(Buffer.from(head), versionsJson(versions), CLOSE_OBJECT);
  });
  parts.push(CLOSE_ANSWER);
  return Buffer.concat(parts);
}

const CLOSE_OBJECT = Buffer.from('}');
const CLOSE_ANSWER = Buffer.from(']}');
const serialized = new WeakMap<readonly SearchVersion[], Buffer>();

function versionsJson(versions: readonly SearchVersion[]): Buffer {
  let bytes = serialized.get(versions);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(versions));
    serialized.set(versions, bytes);
  }
  return bytes;
}

export function search(urls: RegistrationUrls, found: IdsFound, seen: Visibility) {
  const data = found.ids.map((summary) => {
    const lowerId = summary.id.toLowerCase();
    const latest = latestVisible(summary, seen) as PackageView;
    const registration = `${urls.registrationBase}${encodeURIComponent(lowerId)}/index.json`;
    return {
      '@id': registration,
      '@type': 'Package',
      registration,
      id: latest.id,
      version: latest.version,
      description: `symfeed uploads of ${latest.id}`,
      authors: [],
      totalDownloads: 0,
      verified: false,
      versions: versionsShown(urls, summary, seen),
    };
  });
  return { totalHits: found.total, data };
}
