import { ByteSource } from './byteSource';

/** One key a file is served under, per the SSQP key conventions. */
export interface DerivedKey {
  /** The clientKey, lower-cased. */
  readonly key: string;
  /** The convention, e.g. "pe", "pdb", "portable-pdb", "elf-buildid-sym", "mach-uuid". */
  readonly convention: string;
}

export interface KeyResult {
  /** The format detected, e.g. "pe", "pdb", "portable-pdb", "elf", "macho", "perfmap". */
  readonly format: string;
  readonly keys: readonly DerivedKey[];
  /** Why a file of this format got fewer keys than it might have (no build-id, say). */
  readonly warnings: readonly string[];
  /**
   * The file's identity as its key convention formats it, for the CLR private conventions, which
   * key a runtime's DAC, DBI and SOS by the runtime's identity. PE: TimeDateStamp as %08X then
   * SizeOfImage as %x; ELF: the build-id padded to 20 bytes, hex; Mach-O: each slice's UUID, hex.
   * Absent for formats without one.
   */
  readonly identity?: readonly string[];
}

/**
 * A key generator for one file format. `detect` looks only at the first bytes of the file (at
 * least 64 of them when the file has that many); `keys` reads what it needs through ranged reads,
 * bounded whatever the headers claim, and throws FormatError on malformed input.
 */
export interface KeyGenerator {
  readonly format: string;
  detect(head: Buffer): boolean;
  keys(source: ByteSource, fileName: string): Promise<KeyResult>;
}

/** The file-name part of a key: the base name of the entry, lower-cased. */
export function keyFileName(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return path.slice(slash + 1).toLowerCase();
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A GUID in the SSQP byte order: first three fields as little-endian integers, then 8 bytes. */
export function guidHex(bytes: Buffer): string {
  const a = bytes.readUInt32LE(0).toString(16).padStart(8, '0');
  const b = bytes.readUInt16LE(4).toString(16).padStart(4, '0');
  const c = bytes.readUInt16LE(6).toString(16).padStart(4, '0');
  return `${a}${b}${c}${bytes.subarray(8, 16).toString('hex')}`;
}
