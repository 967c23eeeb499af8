import { ByteSource, FormatError } from './byteSource';
import { KeyGenerator, KeyResult, keyFileName } from './keyGenerator';

const DOS_HEADER_BYTES = 64;
const E_LFANEW_OFFSET = 0x3c;
/**
 * The Windows loader refuses an e_lfanew of 256 MiB or more; so do we, which also keeps a lying
 * DOS header from sending us to the far end of a huge file.
 */
const MAX_E_LFANEW = 0x10000000;
const PE_SIGNATURE = 0x00004550; // "PE\0\0"
const COFF_HEADER_BYTES = 20;
const SECTION_HEADER_BYTES = 40;
const PE32_MAGIC = 0x10b;
const PE32_PLUS_MAGIC = 0x20b;
/**
 * The optional header's fixed part, up to NumberOfRvaAndSizes, which every image has whatever its
 * data directories: shorter, and the fields an image cannot do without are not there.
 */
const MIN_OPTIONAL_HEADER_BYTES: Readonly<Record<number, number>> = {
  [PE32_MAGIC]: 96,
  [PE32_PLUS_MAGIC]: 112,
};
/** PE32's BaseOfData and 4-byte ImageBase fill the room of PE32+'s 8-byte ImageBase: both agree. */
const SIZE_OF_IMAGE_OFFSET = 56;
const SIZE_OF_HEADERS_OFFSET = 60;

function hex32(value: number): string {
  return `0x${value.toString(16)}`;
}

function eLfanew(dosHeader: Buffer): number {
  return dosHeader.readUInt32LE(E_LFANEW_OFFSET);
}

/**
 * Windows PE images (PE32 and PE32+), keyed by the COFF TimeDateStamp and the SizeOfImage, the
 * two values a debugger reads from a loaded module or a minidump's module list.
 */
export const peKeyGenerator: KeyGenerator = {
  format: 'pe',

  detect(head: Buffer): boolean {
    if (head.length < DOS_HEADER_BYTES || head[0] !== 0x4d || head[1] !== 0x5a) return false;
    const lfanew = eLfanew(head);
    if (lfanew >= MAX_E_LFANEW) return false;
    // The PE signature usually lies beyond the DOS stub, out of sight; keys() checks it then.
    if (lfanew + 4 <= head.length) return head.readUInt32LE(lfanew) === PE_SIGNATURE;
    return true;
  },

  async keys(source: ByteSource, fileName: string): Promise<KeyResult> {
    if (source.size < DOS_HEADER_BYTES) {
      throw new FormatError(
        `the file is ${source.size} bytes, shorter than the ${DOS_HEADER_BYTES}-byte DOS header`,
      );
    }
    const dosHeader = await source.read(0, DOS_HEADER_BYTES);
    if (dosHeader.toString('latin1', 0, 2) !== 'MZ') {
      throw new FormatError('no "MZ" signature at the start of the file');
    }
    const lfanew = eLfanew(dosHeader);
    if (lfanew >= MAX_E_LFANEW) {
      throw new FormatError(`e_lfanew ${hex32(lfanew)} is beyond the 256 MiB the loader allows`);
    }
    const ntHeadersStart = lfanew + 4 + COFF_HEADER_BYTES;
    if (ntHeadersStart > source.size) {
      throw new FormatError(
        `e_lfanew ${hex32(lfanew)} puts the PE header past the end of the ${source.size}-byte file`,
      );
    }
    const ntHeader = await source.read(lfanew, 4 + COFF_HEADER_BYTES);
    if (ntHeader.readUInt32LE(0) !== PE_SIGNATURE) {
      throw new FormatError(
        `no "PE\\0\\0" signature at e_lfanew ${hex32(lfanew)}: an MS-DOS program or not a PE image`,
      );
    }
    const numberOfSections = ntHeader.readUInt16LE(4 + 2);
    const timeDateStamp = ntHeader.readUInt32LE(4 + 4);
    const sizeOfOptionalHeader = ntHeader.readUInt16LE(4 + 16);

    if (ntHeadersStart + 2 > source.size) {
      throw new FormatError('the file ends before the optional header');
    }
    const magic = (await source.read(ntHeadersStart, 2)).readUInt16LE(0);
    const minOptionalHeader = MIN_OPTIONAL_HEADER_BYTES[magic];
    if (minOptionalHeader === undefined) {
      throw new FormatError(
        `optional header magic ${hex32(magic)} is neither PE32 (0x10b) nor PE32+ (0x20b)`,
      );
    }
    if (sizeOfOptionalHeader < minOptionalHeader) {
      throw new FormatError(
        `SizeOfOptionalHeader ${sizeOfOptionalHeader} is smaller than the ${minOptionalHeader} bytes of a ${magic === PE32_MAGIC ? 'PE32' : 'PE32+'} optional header`,
      );
    }
    // The section table is not needed for the key, but an image whose headers do not hold it is
    // no image: this is where absurd section counts and truncated files show.
    const sectionTableEnd =
      ntHeadersStart + sizeOfOptionalHeader + numberOfSections * SECTION_HEADER_BYTES;
    if (sectionTableEnd > source.size) {
      throw new FormatError(
        `${numberOfSections} section headers run past the end of the ${source.size}-byte file`,
      );
    }
    const optionalHeader = await source.read(ntHeadersStart, SIZE_OF_HEADERS_OFFSET + 4);
    const sizeOfImage = optionalHeader.readUInt32LE(SIZE_OF_IMAGE_OFFSET);
    const sizeOfHeaders = optionalHeader.readUInt32LE(SIZE_OF_HEADERS_OFFSET);
    if (sectionTableEnd > sizeOfHeaders) {
      throw new FormatError(
        `${numberOfSections} section headers end at ${sectionTableEnd}, outside the ${sizeOfHeaders} bytes of SizeOfHeaders`,
      );
    }

    // The SSQP convention: the timestamp as eight upper-case digits, the size as few as needed.
    const identity = `${timeDateStamp.toString(16).toUpperCase().padStart(8, '0')}${sizeOfImage.toString(16)}`;
    const name = keyFileName(fileName);
    return {
      format: 'pe',
      keys: [{ key: `${name}/${identity}/${name}`.toLowerCase(), convention: 'pe' }],
      warnings: [],
      identity: [identity],
    };
  },
};
