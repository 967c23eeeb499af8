import { DerivedKey } from '../formats/keyGenerator';
import { deriveKeys } from '../formats/deriveKeys';
import { SYMBOL_INDEX_NAME } from '../index/symbolIndex';
import { entryProblem, PackageZip, ZipEntryInfo, ZipLimits } from '../zip/packageZip';

/** The parts a NuGet package carries about itself; nothing a debugger asks for. */
const NUGET_METADATA = [
  /^\[content_types\]\.xml$/i,
  /^_rels\//i,
  /^package\/services\/metadata\//i,
  /^[^/]+\.nuspec$/i,
  /^\.signature\.p7s$/i,
];

export function isPackageMetadata(name: string): boolean {
  return name === SYMBOL_INDEX_NAME || NUGET_METADATA.some((pattern) => pattern.test(name));
}

export interface DerivedEntryKey extends DerivedKey {
  readonly entry: ZipEntryInfo;
}

/** Derives the keys of every entry of a package that can be served (see shared/formats). */
export async function derivePackageKeys(
  zip: PackageZip,
  limits: ZipLimits,
): Promise<{ keys: DerivedEntryKey[]; warnings: string[] }> {
  const warnings: string[] = [];
  const entries = new Map<string, ZipEntryInfo>();
  for (const entry of zip.entries) {
    if (isPackageMetadata(entry.name) || entry.size === 0) continue;
    const problem = entryProblem(entry, limits);
    if (problem) warnings.push(`${problem}; it is not examined for keys`);
    else entries.set(entry.name, entry);
  }
  // In file order, so that neighbouring entries share the reader's cached chunks.
  const files = [...entries.values()]
    .sort((a, b) => a.localHeaderOffset - b.localHeaderOffset)
    .map((entry) => ({
      name: entry.name,
      fingerprint: `${entry.crc32}:${entry.size}`,
      source: () => zip.entrySource(entry),
      stream: () => zip.entryStream(entry),
    }));
  const derived = await deriveKeys(files);
  return {
    keys: derived.keys.map(({ file, ...key }) => ({
      ...key,
      entry: entries.get(file) as ZipEntryInfo,
    })),
    warnings: [...warnings, ...derived.warnings],
  };
}
