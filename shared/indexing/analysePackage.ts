import { setImmediate as nextTurn } from 'node:timers/promises';
import { EntryLocation, KeyRecord, KeySource } from '../index/location';
import { parseSymbolIndex, SYMBOL_INDEX_NAME, SymbolIndex } from '../index/symbolIndex';
import { mapLimit } from '../util/mapLimit';
import { identityFromNuspec, PackageIdentity } from '../packages/packageIdentity';
import { derivePackageKeys } from './derivePackageKeys';
import { RangeReadError } from '../zip/chunkedReader';
import { checkedEntryBytes } from '../zip/entryBytes';
import { entryProblem, PackageZip, ZipEntryInfo, ZipLimits } from '../zip/packageZip';

export interface AnalysisLimits extends ZipLimits {
  maxIndexBytes: number;
  /** Entries whose size and compressed size are both within this go into their key rows (0: none). */
  inlineFileBytes: number;
}

export interface PackageBlob {
  readonly packageUid: string;
  readonly blob: string;
  readonly blobEtag: string;
}

/** What indexing found in one package; `damaged` means nothing of it may be served. */
export interface Analysis {
  /** From the package's .nuspec, when it has one that names both. */
  readonly identity?: PackageIdentity;
  readonly keys: KeyRecord[];
  readonly errors: string[];
  readonly warnings: string[];
  readonly damaged?: string;
  /**
   * The data of small entries as the zip holds it, by data offset, checked: for the key rows only,
   * never for the status document.
   */
  readonly inline?: ReadonlyMap<number, Buffer>;
}

const HEADER_READ_CONCURRENCY = 8;
/**
 * What one run holds of inline data at most: 100,000 entries of 16 KiB would be 1.6 GB. Entries
 * past it are served from the package as before.
 */
const MAX_INLINE_BYTES_PER_PACKAGE = 64 * 1024 ** 2;
/** Loops over every key let serving run between slices of this many: 55,000 keys took 0.2 s. */
const KEYS_PER_TURN = 1_000;

interface Wanted {
  readonly clientKey: string;
  readonly key: string;
  readonly source: KeySource;
  readonly convention?: string;
}

/** A package without symbol_index.json maps no explicit keys; that is not a fault. */
async function readExplicitIndex(
  zip: PackageZip,
  entry: ZipEntryInfo | undefined,
  limits: AnalysisLimits,
): Promise<SymbolIndex> {
  if (!entry) return { ok: true, mappings: [], rejected: [] };
  const problem = entryProblem(entry, limits);
  if (problem) return { ok: false, reason: `${SYMBOL_INDEX_NAME} cannot be read: ${problem}` };
  try {
    return await parseSymbolIndex(await zip.openSmallEntry(entry, limits.maxIndexBytes));
  } catch (error) {
    if (error instanceof RangeReadError) throw error;
    return {
      ok: false,
      reason: `${SYMBOL_INDEX_NAME} cannot be read: ${(error as Error).message}`,
    };
  }
}

function damaged(reason: string, warnings: string[] = []): Analysis {
  return { keys: [], errors: [reason], warnings, damaged: reason };
}

/**
 * Finds every key a package offers and where its entry lies: the explicit keys of its
 * symbol_index.json, then the keys derived from its entries' contents, explicit winning a tie.
 */
export async function analysePackage(
  zip: PackageZip,
  blob: PackageBlob,
  limits: AnalysisLimits,
): Promise<Analysis> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byName = new Map(zip.entries.map((entry) => [entry.name, entry]));
  if (zip.entries.length === 0) {
    warnings.push('the package holds no files, so it offers no keys');
    return { keys: [], errors, warnings };
  }
  const identity = await readNuspec(zip, limits);
  const index = await readExplicitIndex(zip, byName.get(SYMBOL_INDEX_NAME), limits);
  // Damaged, it still lists under the name its .nuspec gives.
  if (!index.ok) return identity ? { ...damaged(index.reason), identity } : damaged(index.reason);
  for (const { clientKey, reason } of index.rejected) {
    errors.push(`key "${clientKey}" is skipped: ${reason}`);
  }

  const wanted = new Map<ZipEntryInfo, Wanted[]>();
  // Pushed in place: copying the list per key took 24 s of blocked event loop for 55,000 keys of
  // one entry.
  const want = (entry: ZipEntryInfo, key: Wanted) => {
    const keys = wanted.get(entry);
    if (keys) keys.push(key);
    else wanted.set(entry, [key]);
  };
  for (const [i, mapping] of index.mappings.entries()) {
    if (i % KEYS_PER_TURN === KEYS_PER_TURN - 1) await nextTurn();
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
    want(entry, { clientKey: mapping.clientKey, key: mapping.key, source: 'explicit' });
  }
  const explicitKeys = new Set(index.mappings.map((mapping) => mapping.key));
  const derived = await derivePackageKeys(zip, limits);
  warnings.push(...derived.warnings);
  for (const { entry, key, convention } of derived.keys) {
    // An explicit mapping always beats a derived key, inside a package as across packages.
    if (!explicitKeys.has(key)) want(entry, { clientKey: key, key, source: 'derived', convention });
  }

  // In file order, so that neighbouring local headers share the reader's cached chunks.
  const entries = [...wanted.keys()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const keys: KeyRecord[] = [];
  const inline = new Map<number, Buffer>();
  let inlineBudget = MAX_INLINE_BYTES_PER_PACKAGE;
  await mapLimit(entries, HEADER_READ_CONCURRENCY, async (entry) => {
    const skip = (why: string) => {
      for (const { clientKey } of wanted.get(entry) ?? []) {
        errors.push(`key "${clientKey}" is skipped: ${why}`);
      }
    };
    let dataOffset: number;
    try {
      dataOffset = await zip.dataOffset(entry);
    } catch (error) {
      if (error instanceof RangeReadError) throw error;
      skip(`the local header of "${entry.name}" is unreadable: ${(error as Error).message}`);
      return;
    }
    if (isInline(entry, limits) && entry.compressedSize <= inlineBudget) {
      inlineBudget -= entry.compressedSize;
      const raw = await zip.rawData(entry);
      const checked = checkedEntryBytes(entry, raw);
      if ('problem' in checked) {
        skip(`the file "${entry.name}" is damaged: ${checked.problem}`);
        return;
      }
      inline.set(dataOffset, raw);
    }
    const location: EntryLocation = {
      ...blob,
      entry: entry.name,
      dataOffset,
      compressedSize: entry.compressedSize,
      size: entry.size,
      method: entry.method,
      crc32: entry.crc32,
    };
    for (const [i, { clientKey, key, source, convention }] of (wanted.get(entry) ?? []).entries()) {
      if (i % KEYS_PER_TURN === KEYS_PER_TURN - 1) await nextTurn();
      keys.push(
        convention
          ? { key, clientKey, source, convention, location }
          : { key, clientKey, source, location },
      );
    }
  });
  // Stable output whatever order the header reads finished in: re-runs give identical documents.
  keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const found = { keys, errors, warnings, inline };
  return identity ? { identity, ...found } : found;
}

/**
 * Whether an entry's data goes into its key rows. As the zip holds it: a deflated one can then be
 * sent gzip-encoded without inflating, and a row holds fewer bytes. An empty file needs none: it
 * is served without a read.
 */
function isInline(entry: ZipEntryInfo, limits: AnalysisLimits): boolean {
  return (
    entry.size > 0 &&
    entry.size <= limits.inlineFileBytes &&
    entry.compressedSize <= limits.inlineFileBytes
  );
}

const MAX_NUSPEC_BYTES = 1024 * 1024;

/** A NuGet package names itself in the .nuspec at its root; a broken one is only a warning's worth. */
async function readNuspec(
  zip: PackageZip,
  limits: AnalysisLimits,
): Promise<PackageIdentity | undefined> {
  const entry = zip.entries.find((candidate) => /^[^/]+\.nuspec$/i.test(candidate.name));
  if (!entry || entryProblem(entry, limits)) return undefined;
  try {
    return identityFromNuspec((await zip.readSmallEntry(entry, MAX_NUSPEC_BYTES)).toString('utf8'));
  } catch (error) {
    if (error instanceof RangeReadError) throw error;
    return undefined;
  }
}
