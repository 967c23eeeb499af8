import { ByteSource, FormatError } from './byteSource';
import { KeyGenerator, KeyResult, guidHex, keyFileName } from './keyGenerator';

const METADATA_SIGNATURE = 0x424a5342; // "BSJB"
/** Signature, major and minor version, reserved, then the length of the version string. */
const ROOT_HEADER_BYTES = 16;
/** ECMA-335 II.24.2.1: a version string of at most 255 bytes, its length padded to 4. */
const MAX_VERSION_BYTES = 256;
/**
 * Metadata knows fewer than ten stream kinds (#~, #-, #Strings, #US, #GUID, #Blob, #Pdb, #JTD);
 * the cap keeps a lying count from making us read megabytes of stream headers.
 */
const MAX_STREAMS = 64;
/** Offset, size, and a name of at most 32 characters, NUL-terminated and padded to 4 bytes. */
const MAX_NAME_CHARS = 32;
const MAX_STREAM_HEADER_BYTES = 8 + MAX_NAME_CHARS + 4;
/** PDB id (GUID and stamp), entry point, referenced type system tables: the fixed part. */
const MIN_PDB_STREAM_BYTES = 32;

interface StreamHeader {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

function parseStreamHeaders(bytes: Buffer, count: number): StreamHeader[] {
  const headers: StreamHeader[] = [];
  let position = 0;
  for (let index = 0; index < count; index += 1) {
    if (position + 8 > bytes.length) {
      throw new FormatError(`stream header ${index} of ${count} runs past the end of the file`);
    }
    const offset = bytes.readUInt32LE(position);
    const size = bytes.readUInt32LE(position + 4);
    const nameStart = position + 8;
    const nul = bytes.indexOf(0, nameStart);
    if (nul < 0 || nul - nameStart > MAX_NAME_CHARS) {
      throw new FormatError(
        `stream header ${index} has no NUL-terminated name of at most ${MAX_NAME_CHARS} characters`,
      );
    }
    headers.push({ name: bytes.toString('latin1', nameStart, nul), offset, size });
    position = nameStart + (Math.floor((nul - nameStart) / 4) + 1) * 4;
  }
  return headers;
}

/**
 * Portable PDBs (ECMA-335 metadata with a #Pdb stream), keyed by the GUID half of the PDB id with
 * FFFFFFFF for the age: the id the compiler also writes into the assembly's CodeView record.
 */
export const portablePdbKeyGenerator: KeyGenerator = {
  format: 'portable-pdb',

  detect(head: Buffer): boolean {
    return head.length >= 4 && head.readUInt32LE(0) === METADATA_SIGNATURE;
  },

  async keys(source: ByteSource, fileName: string): Promise<KeyResult> {
    if (source.size < ROOT_HEADER_BYTES + 4) {
      throw new FormatError(`the file is ${source.size} bytes, too short for a metadata root`);
    }
    const root = await source.read(0, ROOT_HEADER_BYTES);
    if (root.readUInt32LE(0) !== METADATA_SIGNATURE) {
      throw new FormatError('no "BSJB" metadata signature at the start of the file');
    }
    const versionBytes = root.readUInt32LE(12);
    if (versionBytes > MAX_VERSION_BYTES) {
      throw new FormatError(
        `the version string claims ${versionBytes} bytes; at most ${MAX_VERSION_BYTES} are allowed`,
      );
    }
    const flagsAt = ROOT_HEADER_BYTES + versionBytes;
    if (flagsAt + 4 > source.size) {
      throw new FormatError('the file ends inside the metadata root');
    }
    const streamCount = (await source.read(flagsAt, 4)).readUInt16LE(2);
    if (streamCount > MAX_STREAMS) {
      throw new FormatError(
        `the metadata root claims ${streamCount} streams; at most ${MAX_STREAMS} make sense`,
      );
    }
    const headersAt = flagsAt + 4;
    const headerBytes = Math.min(streamCount * MAX_STREAM_HEADER_BYTES, source.size - headersAt);
    const headers = parseStreamHeaders(await source.read(headersAt, headerBytes), streamCount);

    const pdbStreams = headers.filter((header) => header.name === '#Pdb');
    const pdbStream = pdbStreams[0];
    if (!pdbStream) {
      throw new FormatError(
        "metadata without a #Pdb stream: an assembly's metadata, not a portable PDB",
      );
    }
    if (pdbStreams.length > 1) throw new FormatError('the metadata root lists two #Pdb streams');
    if (pdbStream.size < MIN_PDB_STREAM_BYTES) {
      throw new FormatError(`the #Pdb stream is ${pdbStream.size} bytes, too short for its header`);
    }
    if (pdbStream.offset + pdbStream.size > source.size) {
      throw new FormatError(
        `the #Pdb stream (${pdbStream.size} bytes at ${pdbStream.offset}) runs past the end of the ${source.size}-byte file`,
      );
    }
    const guid = guidHex(await source.read(pdbStream.offset, 16));

    const name = keyFileName(fileName);
    return {
      format: 'portable-pdb',
      keys: [{ key: `${name}/${guid}ffffffff/${name}`, convention: 'portable-pdb' }],
      warnings: [],
    };
  },
};
