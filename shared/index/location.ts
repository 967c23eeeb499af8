/** Where one entry's bytes lie: everything serving needs for a single ranged read. */
export interface EntryLocation {
  readonly packageUid: string;
  /** Blob name inside the packages container: "{feed}/{name}". */
  readonly blob: string;
  /** The package blob's ETag when it was indexed; reads are conditional on it. */
  readonly blobEtag: string;
  readonly entry: string;
  readonly dataOffset: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly method: number;
  readonly crc32: number;
}

/** How a package offers a key: mapped in its symbol_index.json, derived from a file, or fetched from an upstream. */
export type KeySource = 'explicit' | 'derived' | 'upstream';

/** One key a package contributes, as the status document lists it. */
export interface KeyRecord {
  readonly key: string;
  readonly clientKey: string;
  readonly source: KeySource;
  /** For derived keys: the convention that gave the key ("pe", "elf-buildid-sym", ...). */
  readonly convention?: string;
  readonly location: EntryLocation;
}
