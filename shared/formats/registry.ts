import { ByteSource, FormatError } from './byteSource';
import { elfKeyGenerator } from './elf';
import { KeyGenerator, KeyResult } from './keyGenerator';
import { machoKeyGenerator } from './macho';
import { pdbKeyGenerator } from './pdb';
import { peKeyGenerator } from './pe';
import { perfmapKeyGenerator } from './perfmap';
import { portablePdbKeyGenerator } from './portablePdb';

/**
 * Every format symfeed derives keys for, in the order detection tries them. Detection is by
 * content, never by file name: the binary formats have magic numbers; the perfmap, a text format,
 * comes last.
 */
export const KEY_GENERATORS: readonly KeyGenerator[] = [
  peKeyGenerator,
  pdbKeyGenerator,
  portablePdbKeyGenerator,
  elfKeyGenerator,
  machoKeyGenerator,
  perfmapKeyGenerator,
];

/** How many leading bytes detection looks at. */
export const DETECT_BYTES = 64;

/** What one file yields; `format` is absent for a file of no known format (not a warning). */
export type FileKeys = Omit<KeyResult, 'format'> & { format?: string };

/**
 * Derives the keys of one file. A malformed file of a known format yields no keys and a warning
 * saying what is wrong; only storage faults escape.
 */
export async function deriveFileKeys(
  source: ByteSource,
  path: string,
  generators: readonly KeyGenerator[] = KEY_GENERATORS,
): Promise<FileKeys> {
  const head = await source.read(0, Math.min(source.size, DETECT_BYTES));
  const generator = generators.find((candidate) => candidate.detect(head));
  if (!generator) return { keys: [], warnings: [] };
  try {
    const result = await generator.keys(source, path);
    // A generator speaks of "the file"; in a package or a folder the reader needs its name.
    return { ...result, warnings: result.warnings.map((warning) => `"${path}": ${warning}`) };
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    return {
      format: generator.format,
      keys: [],
      warnings: [`"${path}" (${generator.format}) gives no keys: ${error.message}`],
    };
  }
}
