import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { deriveKeys } from '../shared/formats/deriveKeys';
import { KeySource } from '../shared/index/location';
import { analysePackage } from '../shared/indexing/analysePackage';
import { ChunkedReader, fileRangeSource } from '../shared/zip/chunkedReader';
import { DamagedZipError, PackageZip } from '../shared/zip/packageZip';
import { diskFile, folderFiles } from './files';
import { CliError, Output } from './output';

export interface KeyLine {
  readonly key: string;
  readonly path: string;
  readonly source: KeySource;
  readonly convention?: string;
}

const LIMITS = {
  maxEntries: 1_000_000,
  maxEntryBytes: Number.MAX_SAFE_INTEGER,
  maxCompressionRatio: 1_000,
  maxIndexBytes: 64 * 1024 * 1024,
  // The CLI lists keys; it writes no rows.
  inlineFileBytes: 0,
};

async function isZip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    // A local file header, or the end record of an empty zip.
    return (
      head.equals(Buffer.from('PK\x03\x04', 'latin1')) ||
      head.equals(Buffer.from('PK\x05\x06', 'latin1'))
    );
  } finally {
    await handle.close();
  }
}

/** The keys symfeed would serve a package's entries under, as the indexer finds them. */
async function packageKeys(file: string, size: number, out: Output): Promise<KeyLine[]> {
  const reader = new ChunkedReader(fileRangeSource(file), size, 256 * 1024);
  let zip: PackageZip;
  try {
    zip = await PackageZip.open(reader, size, LIMITS);
  } catch (error) {
    if (error instanceof DamagedZipError) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
  try {
    const analysis = await analysePackage(
      zip,
      { packageUid: '', blob: file, blobEtag: '' },
      LIMITS,
    );
    if (analysis.damaged) throw new CliError(`${file}: ${analysis.damaged}`);
    for (const message of [...analysis.errors, ...analysis.warnings])
      out.warn(`${file}: ${message}`);
    return analysis.keys.map(({ key, source, convention, location }) => ({
      key,
      path: `${file}!${location.entry}`,
      source,
      ...(convention ? { convention } : {}),
    }));
  } finally {
    zip.close();
  }
}

/** `symfeed keys <file|dir|zip>...` */
export async function keysCommand(paths: readonly string[], out: Output): Promise<KeyLine[]> {
  const lines: KeyLine[] = [];
  for (const target of paths) {
    const info = await stat(target).catch(() => {
      throw new CliError(`${target}: no such file or folder`);
    });
    if (info.isFile() && (await isZip(target))) {
      lines.push(...(await packageKeys(target, info.size, out)));
      continue;
    }
    const files = info.isDirectory()
      ? await folderFiles(target)
      : [await diskFile(target, path.basename(target))];
    const byName = new Map(files.map((file) => [file.name, file.path]));
    const derived = await deriveKeys(files);
    for (const warning of derived.warnings) out.warn(`${target}: ${warning}`);
    for (const { key, convention, file } of derived.keys) {
      lines.push({ key, path: byName.get(file) ?? file, source: 'derived', convention });
    }
  }
  return lines;
}
