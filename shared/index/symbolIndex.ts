import { z } from 'zod';
import { normaliseClientKey } from '../keys/clientKey';

export const SYMBOL_INDEX_NAME = 'symbol_index.json';

const symbolIndexSchema = z.array(
  z.object({
    clientKey: z.string().min(1, 'clientKey must be a non-empty string'),
    blobPath: z.string().min(1, 'blobPath must be a non-empty string'),
  }),
);

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

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `element ${issue.path.join('.')}` : 'the document';
  return `${where}: ${issue.message}`;
}

/**
 * Reads a package's symbol_index.json. A document that is not a JSON array of
 * {clientKey, blobPath} strings, or that maps one key twice, makes the whole package bad
 * (Package_Based_Symbol_Server.md); a single key no client could ask for is only skipped.
 */
export function parseSymbolIndex(bytes: Buffer): SymbolIndex {
  let json: unknown;
  try {
    // Windows tools like to start UTF-8 files with a byte order mark; JSON.parse does not.
    json = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    return {
      ok: false,
      reason: `${SYMBOL_INDEX_NAME} is not valid JSON: ${(error as Error).message}`,
    };
  }
  const parsed = symbolIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map(describeIssue).join('; ');
    return {
      ok: false,
      reason: `${SYMBOL_INDEX_NAME} must be an array of {"clientKey": string, "blobPath": string}: ${issues}`,
    };
  }
  const mappings: ExplicitMapping[] = [];
  const rejected: { clientKey: string; reason: string }[] = [];
  const firstIndex = new Map<string, number>();
  for (const [index, { clientKey, blobPath }] of parsed.data.entries()) {
    const check = normaliseClientKey(clientKey);
    if (!check.ok) {
      rejected.push({ clientKey, reason: check.reason });
      continue;
    }
    const earlier = firstIndex.get(check.key);
    if (earlier !== undefined) {
      return {
        ok: false,
        reason: `${SYMBOL_INDEX_NAME} maps the key "${clientKey}" more than once (elements ${earlier} and ${index}; keys are case-insensitive)`,
      };
    }
    firstIndex.set(check.key, index);
    mappings.push({ clientKey, key: check.key, blobPath });
  }
  return { ok: true, mappings, rejected };
}
