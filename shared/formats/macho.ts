import { ByteSource, FormatError, checkRange } from './byteSource';
import { DerivedKey, KeyGenerator, KeyResult, hex, keyFileName } from './keyGenerator';

/**
 * Mach-O files (32/64-bit, either byte order) and universal ("fat") files keyed by each image's
 * LC_UUID, per the SSQP conventions Mach-uuid and Mach-uuid-sym. Only the headers and load commands
 * are read, never code or debug data.
 */

// The magics as a big-endian read of the first four bytes sees them: a little-endian file reads
// as the byte-swapped ("CIGAM") value.
const MH_MAGIC = 0xfeedface;
const MH_CIGAM = 0xcefaedfe;
const MH_MAGIC_64 = 0xfeedfacf;
const MH_CIGAM_64 = 0xcffaedfe;
const FAT_MAGIC = 0xcafebabe;
const FAT_MAGIC_64 = 0xcafebabf;
/** Universal static libraries hold one archive per architecture. */
const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');

const MH_DSYM = 0xa;
const LC_SEGMENT = 0x1;
const LC_SEGMENT_64 = 0x19;
const LC_UUID = 0x1b;
const LOAD_COMMAND_HEADER_BYTES = 8;
const UUID_COMMAND_BYTES = 24;
/** A segment command up to the end of its name: cmd, cmdsize, segname[16]. */
const SEGMENT_NAME_END = 24;

/**
 * Slices a universal file may hold. Real ones hold a handful; Microsoft.SymbolStore draws the same
 * line. A Java class file also starts with 0xcafebabe, followed by its minor and major version,
 * which read as a count of at least 45 (Java 1.1), so the cap also keeps class files out.
 */
const MAX_FAT_SLICES = 20;
/**
 * Load commands read per image. dyld maps them within the first pages of __TEXT; real images need
 * tens of kilobytes at most, even with hundreds of dylibs and 255 sections.
 */
const MAX_LOAD_COMMAND_BYTES = 1024 * 1024;

interface Thin {
  readonly is64: boolean;
  readonly littleEndian: boolean;
}

function thinKind(magic: number): Thin | undefined {
  switch (magic) {
    case MH_MAGIC:
      return { is64: false, littleEndian: false };
    case MH_CIGAM:
      return { is64: false, littleEndian: true };
    case MH_MAGIC_64:
      return { is64: true, littleEndian: false };
    case MH_CIGAM_64:
      return { is64: true, littleEndian: true };
    default:
      return undefined;
  }
}

/** What one image contributes: its UUID and whether it is a debug companion. */
interface Image {
  readonly uuid?: Buffer;
  readonly symbolFile: boolean;
}

/** A window on part of a file, so that a slice reads as a file of its own. */
function window(source: ByteSource, offset: number, size: number): ByteSource {
  return {
    size,
    read(at, length) {
      checkRange(size, at, length);
      return source.read(offset + at, length);
    },
  };
}

async function readImage(source: ByteSource, kind: Thin): Promise<Image> {
  const headerSize = kind.is64 ? 32 : 28;
  if (source.size < headerSize) {
    throw new FormatError(`Mach-O header truncated: ${source.size} of ${headerSize} bytes`);
  }
  const header = await source.read(0, headerSize);
  const u32 = (buf: Buffer, at: number) =>
    kind.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  const fileType = u32(header, 12);
  const commandCount = u32(header, 16);
  const commandBytes = u32(header, 20);
  if (commandBytes > MAX_LOAD_COMMAND_BYTES) {
    throw new FormatError(
      `Mach-O load commands of ${commandBytes} bytes are more than the ${MAX_LOAD_COMMAND_BYTES} symfeed reads`,
    );
  }
  if (headerSize + commandBytes > source.size) {
    throw new FormatError(
      `Mach-O load commands (${commandBytes} bytes) run past the end of the ${source.size}-byte image`,
    );
  }
  if (commandCount * LOAD_COMMAND_HEADER_BYTES > commandBytes) {
    throw new FormatError(
      `${commandCount} Mach-O load commands cannot fit in ${commandBytes} bytes`,
    );
  }
  const commands = await source.read(headerSize, commandBytes);
  let uuid: Buffer | undefined;
  let dwarfSegment = false;
  let at = 0;
  for (let index = 0; index < commandCount; index++) {
    if (at + LOAD_COMMAND_HEADER_BYTES > commandBytes) {
      throw new FormatError(
        `Mach-O load command ${index} of ${commandCount} starts past the ${commandBytes} bytes of load commands`,
      );
    }
    const cmd = u32(commands, at);
    const size = u32(commands, at + 4);
    // A size under 8 would never move on to the next command.
    if (size < LOAD_COMMAND_HEADER_BYTES || at + size > commandBytes) {
      throw new FormatError(
        `Mach-O load command ${index} claims ${size} bytes at ${at} of ${commandBytes}`,
      );
    }
    if (cmd === LC_UUID) {
      if (size < UUID_COMMAND_BYTES) {
        throw new FormatError(`Mach-O LC_UUID of ${size} bytes is too short for a UUID`);
      }
      if (uuid !== undefined) throw new FormatError('Mach-O image has more than one LC_UUID');
      uuid = commands.subarray(at + 8, at + UUID_COMMAND_BYTES);
    } else if (cmd === LC_SEGMENT || cmd === LC_SEGMENT_64) {
      if (size < SEGMENT_NAME_END) {
        throw new FormatError(`Mach-O segment command of ${size} bytes is too short for its name`);
      }
      const name = commands.subarray(at + 8, at + SEGMENT_NAME_END);
      const end = name.indexOf(0);
      dwarfSegment ||= name.toString('latin1', 0, end < 0 ? name.length : end) === '__DWARF';
    }
    at += size;
  }
  // dsymutil's output is MH_DSYM with a __DWARF segment; either alone marks a debug companion.
  return { uuid, symbolFile: dwarfSegment || fileType === MH_DSYM };
}

interface Slice {
  /** How warnings name the slice: empty for a thin file. */
  readonly prefix: string;
  readonly image: Image;
}

/** The images of a universal file; slices that are no image only add a warning. */
async function readFat(source: ByteSource, is64: boolean, warnings: string[]): Promise<Slice[]> {
  if (source.size < 8) {
    throw new FormatError(`universal header truncated: ${source.size} of 8 bytes`);
  }
  const count = (await source.read(4, 4)).readUInt32BE(0);
  if (count === 0) throw new FormatError('universal file with no slices');
  if (count > MAX_FAT_SLICES) {
    throw new FormatError(
      `universal header announces ${count} slices, more than the ${MAX_FAT_SLICES} symfeed accepts` +
        ' (0xcafebabe with a count this large is more likely a Java class file)',
    );
  }
  const entryBytes = is64 ? 32 : 20;
  if (8 + count * entryBytes > source.size) {
    throw new FormatError(
      `universal header (${count} slices) runs past the end of the ${source.size}-byte file`,
    );
  }
  // The universal header is big-endian whatever the slices are.
  const entries = await source.read(8, count * entryBytes);
  const slices: Slice[] = [];
  for (let index = 0; index < count; index++) {
    const base = index * entryBytes;
    const cpuType = entries.readUInt32BE(base);
    const offset = is64
      ? Number(entries.readBigUInt64BE(base + 8))
      : entries.readUInt32BE(base + 8);
    const size = is64
      ? Number(entries.readBigUInt64BE(base + 16))
      : entries.readUInt32BE(base + 12);
    const label = `slice ${index + 1} of ${count} (cputype 0x${cpuType.toString(16)})`;
    if (offset + size > source.size) {
      throw new FormatError(
        `${label}: ${size} bytes at ${offset} run past the end of the ${source.size}-byte file`,
      );
    }
    const slice = window(source, offset, size);
    const head = await slice.read(0, Math.min(size, AR_MAGIC.length));
    const kind = head.length < 4 ? undefined : thinKind(head.readUInt32BE(0));
    if (kind === undefined) {
      const what = head.equals(AR_MAGIC) ? 'a static library (ar archive)' : 'not a Mach-O image';
      warnings.push(`${label}: ${what}, so no key`);
      continue;
    }
    try {
      slices.push({ prefix: `${label}: `, image: await readImage(slice, kind) });
    } catch (error) {
      if (error instanceof FormatError) throw new FormatError(`${label}: ${error.message}`);
      throw error;
    }
  }
  return slices;
}

async function machoKeys(source: ByteSource, fileName: string): Promise<KeyResult> {
  if (source.size < 4) throw new FormatError(`not a Mach-O file: only ${source.size} bytes`);
  const magic = (await source.read(0, 4)).readUInt32BE(0);
  const thin = thinKind(magic);
  const warnings: string[] = [];
  let slices: Slice[];
  if (thin !== undefined) {
    slices = [{ prefix: '', image: await readImage(source, thin) }];
  } else if (magic === FAT_MAGIC || magic === FAT_MAGIC_64) {
    slices = await readFat(source, magic === FAT_MAGIC_64, warnings);
  } else {
    throw new FormatError(`not a Mach-O file (magic 0x${magic.toString(16).padStart(8, '0')})`);
  }
  const name = keyFileName(fileName);
  const keys = new Map<string, DerivedKey>();
  const identity = new Set<string>();
  for (const { prefix, image } of slices) {
    if (image.uuid === undefined) {
      warnings.push(`${prefix}no LC_UUID load command, so no key`);
      continue;
    }
    const uuid = hex(image.uuid);
    identity.add(uuid);
    const key: DerivedKey = image.symbolFile
      ? { key: `_.dwarf/mach-uuid-sym-${uuid}/_.dwarf`, convention: 'mach-uuid-sym' }
      : { key: `${name}/mach-uuid-${uuid}/${name}`, convention: 'mach-uuid' };
    keys.set(key.key, key);
  }
  return {
    format: 'macho',
    keys: [...keys.values()],
    warnings,
    ...(identity.size > 0 ? { identity: [...identity] } : {}),
  };
}

function detect(head: Buffer): boolean {
  if (head.length < 4) return false;
  const magic = head.readUInt32BE(0);
  if (thinKind(magic) !== undefined) return true;
  if (magic !== FAT_MAGIC && magic !== FAT_MAGIC_64) return false;
  if (head.length < 8) return false;
  const count = head.readUInt32BE(4);
  return count > 0 && count <= MAX_FAT_SLICES;
}

export const machoKeyGenerator: KeyGenerator = {
  format: 'macho',
  detect,
  keys: machoKeys,
};
