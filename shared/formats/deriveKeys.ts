import { Readable } from 'node:stream';
import { ByteSource, FormatError } from './byteSource';
import { runtimeCompanionKeys } from './clrRuntime';
import { DerivedKey } from './keyGenerator';
import { deriveFileKeys } from './registry';
import { isSourcePath, sourceFileKey } from './sourceFile';
import { normaliseClientKey } from '../keys/clientKey';
import { mapLimit } from '../util/mapLimit';

/** One file of a package or a folder, as key derivation sees it. */
export interface KeyedFile {
  /** Path inside the package or folder, "/"-separated. */
  readonly name: string;
  /** Equal for files with equal bytes (size and CRC in a zip), to tell true duplicates apart. */
  readonly fingerprint: string;
  source(): Promise<ByteSource>;
  stream(): Promise<Readable>;
}

export interface FileKey extends DerivedKey {
  readonly file: string;
}

/**
 * The file's own fault, as opposed to storage failing: a malformed header, a deflate stream that
 * does not inflate, an entry whose length lies.
 */
function isFileFault(error: unknown): boolean {
  if (error instanceof FormatError) return true;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (typeof code === 'string' && code.startsWith('Z_')) ||
    (typeof message === 'string' && /bytes in the stream/.test(message))
  );
}

interface Examined {
  readonly file: KeyedFile;
  readonly format?: string;
  readonly identity?: readonly string[];
  readonly keys: readonly DerivedKey[];
  readonly warnings: readonly string[];
}

async function examine(file: KeyedFile): Promise<Examined> {
  try {
    if (isSourcePath(file.name)) {
      return { file, keys: [await sourceFileKey(file.name, await file.stream())], warnings: [] };
    }
    return { file, ...(await deriveFileKeys(await file.source(), file.name)) };
  } catch (error) {
    if (!isFileFault(error)) throw error;
    return {
      file,
      keys: [],
      warnings: [`"${file.name}" gives no keys: ${(error as Error).message}`],
    };
  }
}

const FILE_CONCURRENCY = 4;

/**
 * Derives the keys of a set of files by content (sources under src/ by SHA-1), plus the CLR
 * private keys of runtime companions. One key is served by one file: when two files yield the
 * same key, the first by name wins, with a warning if their bytes differ. Files are examined in
 * the order given, so callers pass them in storage order.
 */
export async function deriveKeys(
  files: readonly KeyedFile[],
): Promise<{ keys: FileKey[]; warnings: string[] }> {
  const examined = await mapLimit(files, FILE_CONCURRENCY, examine);
  examined.sort((a, b) => (a.file.name < b.file.name ? -1 : a.file.name > b.file.name ? 1 : 0));
  const companions = runtimeCompanionKeys(
    examined.map(({ file, format, identity }) => ({ path: file.name, format, identity })),
  );
  const warnings: string[] = [];
  const keys: FileKey[] = [];
  const owner = new Map<string, KeyedFile>();
  for (const { file, keys: own, warnings: fileWarnings } of examined) {
    warnings.push(...fileWarnings);
    for (const { key: raw, convention } of [...own, ...(companions.get(file.name) ?? [])]) {
      // File names are the publisher's data: one no client could ask for gives no key.
      const check = normaliseClientKey(raw);
      if (!check.ok) {
        warnings.push(`"${file.name}" gives no ${convention} key: ${check.reason}`);
        continue;
      }
      const derived = { key: check.key, convention };
      const first = owner.get(derived.key);
      if (first) {
        if (first.fingerprint !== file.fingerprint) {
          warnings.push(
            `key "${derived.key}" comes from both "${first.name}" and "${file.name}", which differ; "${first.name}" is served`,
          );
        }
        continue;
      }
      owner.set(derived.key, file);
      keys.push({ ...derived, file: file.name });
    }
  }
  return { keys, warnings };
}
