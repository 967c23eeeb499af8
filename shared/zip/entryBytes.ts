import { crc32, inflateRawSync } from 'node:zlib';
import { COMPRESSION_METHODS, ZipEntryInfo } from './packageZip';

/**
 * An entry's bytes from its data as the zip holds it, checked against what the central directory
 * declares: inflated when deflated, of the declared size and CRC-32. `problem` says why not.
 */
export function checkedEntryBytes(
  entry: Pick<ZipEntryInfo, 'method' | 'size' | 'crc32'>,
  raw: Buffer,
): { bytes: Buffer } | { problem: string } {
  let bytes: Buffer;
  try {
    bytes =
      entry.method === COMPRESSION_METHODS.stored
        ? raw
        : inflateRawSync(raw, { maxOutputLength: entry.size + 1 });
  } catch (error) {
    return { problem: `it does not inflate (${(error as Error).message})` };
  }
  const problem = damageOf(entry, bytes);
  return problem ? { problem } : { bytes };
}

/** Why `bytes` are not the whole entry, or undefined when they are. */
export function damageOf(
  entry: Pick<ZipEntryInfo, 'size' | 'crc32'>,
  bytes: Buffer,
): string | undefined {
  if (bytes.length !== entry.size) {
    return `it is ${bytes.length} bytes, not the ${entry.size} its header declares`;
  }
  const actual = crc32(bytes);
  return actual === entry.crc32 >>> 0 ? undefined : crcMismatch(entry.crc32, actual);
}

export function crcMismatch(expected: number, actual: number): string {
  const hex = (value: number) => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
  return `its CRC-32 is ${hex(actual)}, not the ${hex(expected)} its header declares`;
}
