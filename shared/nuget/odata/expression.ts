import { ODataError } from './errors';
import { isProperty, PackageProperties, PROPERTIES, PropertyName, Value } from './properties';

/**
 * The part of OData v2 expressions that NuGet clients put in $filter and $orderby: properties,
 * string, number, boolean, null and datetime literals, eq/ne/lt/le/gt/ge, and/or/not,
 * parentheses, and the string functions. Expressions are type-checked when parsed, so a bad
 * query is one 400 rather than a failure per package.
 */
export type Type = 'string' | 'number' | 'boolean' | 'datetime' | 'null';

export type Expr =
  | { readonly kind: 'literal'; readonly type: Type; readonly value: Value }
  | { readonly kind: 'property'; readonly type: Type; readonly name: PropertyName }
  | {
      readonly kind: 'call';
      readonly type: Type;
      readonly name: FunctionName;
      readonly args: readonly Expr[];
    }
  | {
      readonly kind: 'binary';
      readonly type: Type;
      readonly op: ComparisonOp;
      readonly left: Expr;
      readonly right: Expr;
    }
  /** `a and b and c` is one node: a chain of any length adds no depth (nor stack) to evaluate. */
  | {
      readonly kind: 'logical';
      readonly type: Type;
      readonly op: 'and' | 'or';
      readonly operands: readonly Expr[];
    }
  | { readonly kind: 'not'; readonly type: Type; readonly operand: Expr };

type ComparisonOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
const COMPARISONS = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
/** OData operators symfeed does not evaluate; named in the 400 rather than read as properties. */
const UNSUPPORTED_OPERATORS = new Set(['add', 'sub', 'mul', 'div', 'mod', 'has', 'in']);
/**
 * Parentheses, `not` and function calls nest at most this deep: parsing and evaluating recurse
 * per level, and 1,500 levels overflowed the stack (a 500). NuGet clients nest three or four.
 */
export const MAX_NESTING = 100;

const TYPE_OF: Record<(typeof PROPERTIES)[PropertyName], Type> = {
  'Edm.String': 'string',
  'Edm.Boolean': 'boolean',
  'Edm.Int32': 'number',
  'Edm.Int64': 'number',
  'Edm.DateTime': 'datetime',
};

interface Signature {
  readonly params: readonly Type[];
  /** A variadic function repeats its one parameter type. */
  readonly variadic?: boolean;
  readonly returns: Type;
  readonly apply: (...args: Value[]) => Value;
}

const str = (v: Value) => v as string;
const FUNCTIONS = {
  tolower: { params: ['string'], returns: 'string', apply: (s) => str(s).toLowerCase() },
  toupper: { params: ['string'], returns: 'string', apply: (s) => str(s).toUpperCase() },
  trim: { params: ['string'], returns: 'string', apply: (s) => str(s).trim() },
  length: { params: ['string'], returns: 'number', apply: (s) => str(s).length },
  // OData v2 reverses the arguments: substringof(needle, haystack).
  substringof: {
    params: ['string', 'string'],
    returns: 'boolean',
    apply: (needle, haystack) => str(haystack).includes(str(needle)),
  },
  contains: {
    params: ['string', 'string'],
    returns: 'boolean',
    apply: (haystack, needle) => str(haystack).includes(str(needle)),
  },
  startswith: {
    params: ['string', 'string'],
    returns: 'boolean',
    apply: (s, prefix) => str(s).startsWith(str(prefix)),
  },
  endswith: {
    params: ['string', 'string'],
    returns: 'boolean',
    apply: (s, suffix) => str(s).endsWith(str(suffix)),
  },
  indexof: {
    params: ['string', 'string'],
    returns: 'number',
    apply: (s, needle) => str(s).indexOf(str(needle)),
  },
  concat: {
    params: ['string'],
    variadic: true,
    returns: 'string',
    apply: (...parts) => parts.map(str).join(''),
  },
} satisfies Record<string, Signature>;
type FunctionName = keyof typeof FUNCTIONS;

type Token =
  | { kind: 'punct'; text: '(' | ')' | ','; at: number }
  | { kind: 'word'; text: string; at: number }
  | { kind: 'literal'; type: Type; value: Value; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const c = rest[0] as string;
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    const quoted = /^(datetime)?'((?:[^']|'')*)'/i.exec(rest);
    if (quoted) {
      const text = (quoted[2] ?? '').replace(/''/g, "'");
      if (quoted[1]) {
        const time = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
        if (Number.isNaN(time)) throw new ODataError(`"${quoted[0]}" is not a valid datetime`);
        tokens.push({
          kind: 'literal',
          type: 'datetime',
          value: new Date(time).toISOString(),
          at: i,
        });
      } else {
        tokens.push({ kind: 'literal', type: 'string', value: text, at: i });
      }
      i += quoted[0].length;
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?[LlMmDdFf]?(?![\w.])/.exec(rest);
    if (number) {
      tokens.push({ kind: 'literal', type: 'number', value: parseFloat(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*(?:\/[A-Za-z_$][\w$]*)*/.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    if (c === "'") throw new ODataError('a string literal is not closed');
    throw new ODataError(`unexpected "${c}" at position ${i}`);
  }
  return tokens;
}

class Parser {
  private position = 0;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly what: string,
  ) {}

  get done(): boolean {
    return this.position >= this.tokens.length;
  }

  private peekWord(): string | undefined {
    const token = this.tokens[this.position];
    return token?.kind === 'word' ? token.text : undefined;
  }

  private expectPunct(text: '(' | ')' | ','): void {
    const token = this.tokens[this.position];
    if (token?.kind !== 'punct' || token.text !== text) {
      throw new ODataError(`${this.what}: expected "${text}" ${this.where()}`);
    }
    this.position++;
  }

  where(): string {
    const token = this.tokens[this.position];
    return token ? `at position ${token.at}` : 'at the end';
  }

  /** Reads "asc" or "desc" after an $orderby item; undefined when neither follows. */
  direction(): 'asc' | 'desc' | undefined {
    const word = this.peekWord()?.toLowerCase();
    if (word !== 'asc' && word !== 'desc') return undefined;
    this.position++;
    return word;
  }

  comma(): boolean {
    const token = this.tokens[this.position];
    if (token?.kind !== 'punct' || token.text !== ',') return false;
    this.position++;
    return true;
  }

  expression(): Expr {
    return this.logical('or', () => this.logical('and', () => this.comparison()));
  }

  private logical(op: 'and' | 'or', operand: () => Expr): Expr {
    const operands = [operand()];
    while (this.peekWord() === op) {
      this.position++;
      operands.push(operand());
    }
    const [first] = operands;
    if (operands.length === 1 && first) return first;
    for (const each of operands) this.requireType(each, 'boolean', op);
    return { kind: 'logical', type: 'boolean', op, operands };
  }

  /** Reads one level of nesting, refusing past MAX_NESTING before the stack runs out. */
  private nested<T>(read: () => T): T {
    if (this.depth >= MAX_NESTING) {
      throw new ODataError(`${this.what}: expressions nest at most ${MAX_NESTING} levels deep`);
    }
    this.depth++;
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  private comparison(): Expr {
    const left = this.unary();
    const op = this.peekWord();
    if (op === undefined) return left;
    if (UNSUPPORTED_OPERATORS.has(op)) {
      throw new ODataError(`${this.what}: the operator "${op}" is not supported`);
    }
    if (!COMPARISONS.has(op)) return left;
    this.position++;
    const right = this.unary();
    const comparable =
      left.type === right.type ||
      left.type === 'null' ||
      right.type === 'null' ||
      // NuGet clients compare dates with string literals now and then.
      (left.type === 'datetime' && right.type === 'string');
    if (!comparable) {
      throw new ODataError(`${this.what}: cannot compare ${left.type} with ${right.type} (${op})`);
    }
    return { kind: 'binary', type: 'boolean', op: op as ComparisonOp, left, right };
  }

  private unary(): Expr {
    if (this.peekWord() === 'not') {
      this.position++;
      const operand = this.nested(() => this.unary());
      this.requireType(operand, 'boolean', 'not');
      return { kind: 'not', type: 'boolean', operand };
    }
    return this.primary();
  }

  private primary(): Expr {
    const token = this.tokens[this.position];
    if (!token) throw new ODataError(`${this.what}: an expression is missing at the end`);
    this.position++;
    if (token.kind === 'literal') return { kind: 'literal', type: token.type, value: token.value };
    if (token.kind === 'punct') {
      if (token.text !== '(') {
        throw new ODataError(`${this.what}: unexpected "${token.text}" at position ${token.at}`);
      }
      const inner = this.nested(() => this.expression());
      this.expectPunct(')');
      return inner;
    }
    const word = token.text;
    if (word === 'true' || word === 'false') {
      return { kind: 'literal', type: 'boolean', value: word === 'true' };
    }
    if (word === 'null') return { kind: 'literal', type: 'null', value: null };
    const next = this.tokens[this.position];
    if (next?.kind === 'punct' && next.text === '(') return this.call(word);
    if (isProperty(word)) return { kind: 'property', type: TYPE_OF[PROPERTIES[word]], name: word };
    throw new ODataError(`${this.what}: the property "${word}" is not supported`);
  }

  private call(name: string): Expr {
    if (!Object.hasOwn(FUNCTIONS, name)) {
      throw new ODataError(`${this.what}: the function "${name}" is not supported`);
    }
    const signature: Signature = FUNCTIONS[name as FunctionName];
    this.expectPunct('(');
    const args: Expr[] = [];
    const closes = this.tokens[this.position];
    if (!(closes?.kind === 'punct' && closes.text === ')')) {
      do args.push(this.nested(() => this.expression()));
      while (this.comma());
    }
    this.expectPunct(')');
    const arity = signature.variadic ? args.length >= 2 : args.length === signature.params.length;
    if (!arity)
      throw new ODataError(`${this.what}: ${name} takes ${signature.params.length} arguments`);
    args.forEach((arg, i) =>
      this.requireType(arg, signature.params[signature.variadic ? 0 : i] ?? 'string', name),
    );
    return { kind: 'call', type: signature.returns, name: name as FunctionName, args };
  }

  private requireType(expr: Expr, type: Type, where: string): void {
    if (expr.type !== type && expr.type !== 'null') {
      throw new ODataError(`${this.what}: ${where} needs ${type}, not ${expr.type}`);
    }
  }
}

/** Parses a $filter; it must be a boolean expression. */
export function parseFilter(source: string): Expr {
  const parser = new Parser(tokenize(source), '$filter');
  const expr = parser.expression();
  if (!parser.done) throw new ODataError(`$filter: unexpected text ${parser.where()}`);
  if (expr.type !== 'boolean') throw new ODataError('$filter must be a boolean expression');
  return expr;
}

export interface OrderBy {
  readonly expr: Expr;
  readonly descending: boolean;
}

/** Parses an $orderby: comma-separated expressions, each optionally asc or desc. */
export function parseOrderBy(source: string): OrderBy[] {
  const parser = new Parser(tokenize(source), '$orderby');
  const items: OrderBy[] = [];
  do items.push({ expr: parser.expression(), descending: parser.direction() === 'desc' });
  while (parser.comma());
  if (!parser.done) throw new ODataError(`$orderby: unexpected text ${parser.where()}`);
  return items;
}

export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function evaluate(expr: Expr, row: PackageProperties): Value {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'property':
      return row[expr.name];
    case 'not':
      return evaluate(expr.operand, row) !== true;
    case 'call': {
      const args = expr.args.map((arg) => evaluate(arg, row));
      if (args.some((arg) => arg === null)) return null;
      const signature: Signature = FUNCTIONS[expr.name];
      return signature.apply(...args);
    }
    case 'logical':
      return expr.op === 'and'
        ? expr.operands.every((operand) => evaluate(operand, row) === true)
        : expr.operands.some((operand) => evaluate(operand, row) === true);
    case 'binary': {
      const [left, right] = [evaluate(expr.left, row), evaluate(expr.right, row)];
      if (expr.op === 'eq') return left === right;
      if (expr.op === 'ne') return left !== right;
      // Ordering against null is never true, as in OData.
      if (left === null || right === null) return false;
      const order = compareValues(left, right);
      return { lt: order < 0, le: order <= 0, gt: order > 0, ge: order >= 0 }[expr.op];
    }
  }
}

/** Orders rows by OData $orderby; `compareProperty` orders properties (versions) specially. */
export function compareBy(
  orderBy: readonly OrderBy[],
  compareProperty: (name: PropertyName, a: Value, b: Value) => number,
): (a: PackageProperties, b: PackageProperties) => number {
  return (a, b) => {
    for (const { expr, descending } of orderBy) {
      const [x, y] = [evaluate(expr, a), evaluate(expr, b)];
      const order =
        expr.kind === 'property' ? compareProperty(expr.name, x, y) : compareValues(x, y);
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  };
}
