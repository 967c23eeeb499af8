import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { normaliseClientKey } from '../keys/clientKey';

export const SYMBOL_INDEX_NAME = 'symbol_index.json';

const mappingSchema = z.object({
  clientKey: z.string().min(1, 'clientKey must be a non-empty string'),
  blobPath: z.string().min(1, 'blobPath must be a non-empty string'),
});

export interface ExplicitMapping {
  /** The key as the publisher wrote it. */
  readonly clientKey: string;
  /** The key as stored and compared. */
  readonly key: string;
  readonly blobPath: string;
}

export type SymbolIndex =
  | { ok: true; mappings: ExplicitMapping[]; rejected: { clientKey: string; reason: string }[] }
  | { ok: false; reason: string };

/** Issues quoted in the reason of a document with wrongly shaped elements. */
const QUOTED_ISSUES = 5;

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `element ${issue.path.join('.')}` : 'the document';
  return `${where}: ${issue.message}`;
}

const notJson = (detail: string): SymbolIndex => ({
  ok: false,
  reason: `${SYMBOL_INDEX_NAME} is not valid JSON: ${detail}`,
});

const wrongShape = (issues: readonly z.core.$ZodIssue[]): SymbolIndex => ({
  ok: false,
  reason: `${SYMBOL_INDEX_NAME} must be an array of {"clientKey": string, "blobPath": string}: ${issues
    .slice(0, QUOTED_ISSUES)
    .map(describeIssue)
    .join('; ')}`,
});

/** Judges the elements one by one, in order; the verdict ranks bad JSON, then shape, then twins. */
class Mappings {
  readonly mappings: ExplicitMapping[] = [];
  readonly rejected: { clientKey: string; reason: string }[] = [];
  private readonly issues: z.core.$ZodIssue[] = [];
  private readonly firstIndex = new Map<string, number>();
  private twice: string | undefined;
  count = 0;

  add(element: unknown): void {
    const index = this.count++;
    const parsed = mappingSchema.safeParse(element);
    if (!parsed.success) {
      if (this.issues.length < QUOTED_ISSUES) {
        this.issues.push(
          ...parsed.error.issues.map((issue) => ({ ...issue, path: [index, ...issue.path] })),
        );
      }
      return;
    }
    // Past a shape issue or a key mapped twice, the verdict is made: what follows is only read.
    if (this.issues.length > 0 || this.twice !== undefined) return;
    const { clientKey, blobPath } = parsed.data;
    const check = normaliseClientKey(clientKey);
    if (!check.ok) {
      this.rejected.push({ clientKey, reason: check.reason });
      return;
    }
    const earlier = this.firstIndex.get(check.key);
    if (earlier !== undefined) {
      this.twice = `${SYMBOL_INDEX_NAME} maps the key "${clientKey}" more than once (elements ${earlier} and ${index}; keys are case-insensitive)`;
      return;
    }
    this.firstIndex.set(check.key, index);
    this.mappings.push({ clientKey, key: check.key, blobPath });
  }

  verdict(): SymbolIndex {
    if (this.issues.length > 0) return wrongShape(this.issues);
    if (this.twice !== undefined) return { ok: false, reason: this.twice };
    return { ok: true, mappings: this.mappings, rejected: this.rejected };
  }
}

/** What JSON does not count as whitespace. */
const NOT_WHITESPACE = /[^ \t\n\r]/g;
/** Outside strings, what changes the nesting depth or opens a string. */
const STRUCTURE = /["{}[\]]/g;
/** Inside a string, what ends it or escapes the next character. */
const IN_STRING = /["\\]/g;
/** What ends a number, `true`, `false` or `null` standing as an element. */
const SCALAR_END = /[,\] \t\n\r]/g;

function searchFrom(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  return pattern.exec(text) ? pattern.lastIndex - 1 : -1;
}

/**
 * Cuts the text of a top-level JSON array into its elements as it arrives, piece by piece, and
 * leaves parsing each element to JSON.parse. Only the array's own punctuation is checked here:
 * any element cut wrongly by bad JSON fails JSON.parse, so a document is accepted exactly when
 * it is one valid JSON array.
 */
class ArraySplitter {
  private phase: 'start' | 'open' | 'comma' | 'element' | 'after' | 'end' = 'start';
  private element = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  /** The text of a document that is not an array: judged whole, as JSON.parse judges it. */
  other: string | undefined;
  problem: string | undefined;

  constructor(private readonly onElement: (text: string) => string | undefined) {}

  push(text: string): void {
    if (this.other !== undefined) {
      this.other += text;
      return;
    }
    let at = 0;
    while (at < text.length && this.problem === undefined) {
      if (this.phase === 'element') {
        at = this.scanElement(text, at);
        continue;
      }
      const next = searchFrom(NOT_WHITESPACE, text, at);
      if (next < 0) return;
      const char = text[next] as string;
      at = next + 1;
      switch (this.phase) {
        case 'start':
          if (char !== '[') {
            this.other = text.slice(next);
            return;
          }
          this.phase = 'open';
          break;
        case 'open':
        case 'comma':
          if (char === ']' && this.phase === 'open') this.phase = 'end';
          else if (char === ']') this.problem = 'a comma is followed by "]"';
          else this.startElement(char);
          break;
        case 'after':
          if (char === ',') this.phase = 'comma';
          else if (char === ']') this.phase = 'end';
          else this.problem = `"${char}" follows an element where "," or "]" belongs`;
          break;
        case 'end':
          this.problem = `"${char}" follows the end of the array`;
          break;
      }
    }
  }

  /** Judged once all the text is in: undefined when the array was complete. */
  end(): string | undefined {
    if (this.problem !== undefined || this.other !== undefined) return this.problem;
    if (this.phase === 'start') this.other = '';
    else if (this.phase !== 'end') this.problem = 'the text ends before the array is closed';
    return this.problem;
  }

  private startElement(char: string): void {
    this.phase = 'element';
    this.element = char;
    this.inString = char === '"';
    this.scalar = char !== '"' && char !== '{' && char !== '[';
    this.depth = char === '{' || char === '[' ? 1 : 0;
  }

  /** Reads on in the current element from `at`; returns where reading stopped. */
  private scanElement(text: string, at: number): number {
    while (at < text.length) {
      if (this.scalar) {
        const end = searchFrom(SCALAR_END, text, at);
        if (end < 0) {
          this.element += text.slice(at);
          return text.length;
        }
        this.element += text.slice(at, end);
        this.finishElement();
        return end;
      }
      if (this.escaped) {
        this.escaped = false;
        this.element += text[at];
        at += 1;
        continue;
      }
      const pattern = this.inString ? IN_STRING : STRUCTURE;
      const found = searchFrom(pattern, text, at);
      if (found < 0) {
        this.element += text.slice(at);
        return text.length;
      }
      this.element += text.slice(at, found + 1);
      at = found + 1;
      const char = text[found];
      if (this.inString) {
        if (char === '\\') this.escaped = true;
        else this.inString = false;
      } else if (char === '"') {
        this.inString = true;
      } else {
        this.depth += char === '{' || char === '[' ? 1 : -1;
      }
      if (!this.inString && this.depth === 0) {
        this.finishElement();
        return at;
      }
    }
    return at;
  }

  private finishElement(): void {
    this.problem = this.onElement(this.element);
    this.element = '';
    this.phase = 'after';
  }
}

/**
 * Reads a package's symbol_index.json from its bytes as they come, element by element, letting
 * the event loop run between pieces: an index of many megabytes must not stall serving. A
 * document that is not a JSON array of {clientKey, blobPath} strings, or that maps one key twice,
 * makes the whole package bad (Package_Based_Symbol_Server.md); a single key no client could ask
 * for is only skipped.
 */
export async function parseSymbolIndex(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<SymbolIndex> {
  const mappings = new Mappings();
  const splitter = new ArraySplitter((text) => {
    let element: unknown;
    try {
      element = JSON.parse(text);
    } catch (error) {
      return `element ${mappings.count}: ${(error as Error).message}`;
    }
    mappings.add(element);
    return undefined;
  });
  // A UTF-8 byte order mark, as Windows tools like to write, is dropped by the decoder.
  const decoder = new TextDecoder('utf-8');
  for await (const piece of pieces) {
    splitter.push(decoder.decode(piece, { stream: true }));
    if (splitter.problem !== undefined) return notJson(splitter.problem);
    await nextTurn();
  }
  splitter.push(decoder.decode());
  const problem = splitter.end();
  if (problem !== undefined) return notJson(problem);
  if (splitter.other !== undefined) return judgeOther(splitter.other);
  return mappings.verdict();
}

/** Anything but an array: JSON.parse or zod says what it is instead, as they would of any text. */
function judgeOther(text: string): SymbolIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return notJson((error as Error).message);
  }
  return wrongShape(z.array(mappingSchema).safeParse(json).error?.issues ?? []);
}
