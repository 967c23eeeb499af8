import { EntryLocation, KeyRecord } from '../index/location';
import { parseSymbolIndex, SYMBOL_INDEX_NAME } from '../index/symbolIndex';
import { mapLimit } from '../util/mapLimit';
import { RangeReadError } from '../zip/blobRangeReader';
import { entryProblem, PackageZip, ZipEntryInfo, ZipLimits } from '../zip/packageZip';

export interface AnalysisLimits extends ZipLimits {
  maxIndexBytes: number;
}

export interface PackageIdentity {
  readonly packageUid: string;
  readonly blob: string;
  readonly blobEtag: string;
}

/** What indexing found in one package; `damaged` means nothing of it may be served. */
export interface Analysis {
  readonly keys: KeyRecord[];
  readonly errors: string[];
  readonly warnings: string[];
  readonly damaged?: string;
}

const HEADER_READ_CONCURRENCY = 8;

function damaged(reason: string, warnings: string[] = []): Analysis {
  return { keys: [], errors: [reason], warnings, damaged: reason };
}

/**
 * Maps the keys of a package's symbol_index.json to the locations of their entries. Reads the
 * index entry and one local header per mapped entry, nothing else.
 */
export async function analysePackage(
  zip: PackageZip,
  identity: PackageIdentity,
  limits: AnalysisLimits,
): Promise<Analysis> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byName = new Map(zip.entries.map((entry) => [entry.name, entry]));
  if (zip.entries.length === 0) {
    warnings.push('the package holds no files, so it offers no keys');
    return { keys: [], errors, warnings };
  }
  const indexEntry = byName.get(SYMBOL_INDEX_NAME);
  if (!indexEntry) {
    warnings.push(
      `the package has no ${SYMBOL_INDEX_NAME} at its root, so it maps no explicit keys`,
    );
    return { keys: [], errors, warnings };
  }
  const indexProblem = entryProblem(indexEntry, limits);
  if (indexProblem) return damaged(`${SYMBOL_INDEX_NAME} cannot be read: ${indexProblem}`);
  let bytes: Buffer;
  try {
    bytes = await zip.readSmallEntry(indexEntry, limits.maxIndexBytes);
  } catch (error) {
    if (error instanceof RangeReadError) throw error;
    return damaged(`${SYMBOL_INDEX_NAME} cannot be read: ${(error as Error).message}`);
  }
  const index = parseSymbolIndex(bytes);
  if (!index.ok) return damaged(index.reason);
  for (const { clientKey, reason } of index.rejected) {
    errors.push(`key "${clientKey}" is skipped: ${reason}`);
  }

  const wanted = new Map<ZipEntryInfo, { clientKey: string; key: string }[]>();
  for (const mapping of index.mappings) {
    const entry = byName.get(mapping.blobPath);
    if (!entry) {
      errors.push(
        `key "${mapping.clientKey}" is skipped: its blobPath "${mapping.blobPath}" is not a file in the package`,
      );
      continue;
    }
    const problem = entryProblem(entry, limits);
    if (problem) {
      errors.push(`key "${mapping.clientKey}" is skipped: ${problem}`);
      continue;
    }
    const keys = wanted.get(entry) ?? [];
    keys.push(mapping);
    wanted.set(entry, keys);
  }

  // In file order, so that neighbouring local headers share the reader's cached chunks.
  const entries = [...wanted.keys()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const keys: KeyRecord[] = [];
  await mapLimit(entries, HEADER_READ_CONCURRENCY, async (entry) => {
    let dataOffset: number;
    try {
      dataOffset = await zip.dataOffset(entry);
    } catch (error) {
      if (error instanceof RangeReadError) throw error;
      for (const { clientKey } of wanted.get(entry) ?? []) {
        errors.push(
          `key "${clientKey}" is skipped: the local header of "${entry.name}" is unreadable: ${(error as Error).message}`,
        );
      }
      return;
    }
    const location: EntryLocation = {
      ...identity,
      entry: entry.name,
      dataOffset,
      compressedSize: entry.compressedSize,
      size: entry.size,
      method: entry.method,
      crc32: entry.crc32,
    };
    for (const { clientKey, key } of wanted.get(entry) ?? []) {
      keys.push({ key, clientKey, source: 'explicit', location });
    }
  });
  // Stable output whatever order the header reads finished in: re-runs give identical documents.
  keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { keys, errors, warnings };
}
