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
  if (bytes.length !== entry.size) {
    return { problem: `it is ${bytes.length} bytes, not the ${entry.size} its header declares` };
  }
  const actual = crc32(bytes);
  if (actual !== entry.crc32) {
    return {
      problem: `its CRC-32 is ${hex(actual)}, not the ${hex(entry.crc32)} its header declares`,
    };
  }
  return { bytes };
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
