import { ByteSource, FormatError } from './byteSource';
import { DerivedKey, KeyGenerator, KeyResult, hex, keyFileName } from './keyGenerator';

/**
 * ELF files (32/64-bit, either byte order) keyed by their GNU build-id, per the SSQP conventions
 * ELF-buildid and ELF-buildid-sym. Only the ELF header, the section and program header tables, the
 * section name table and note sections are read, never code or debug data.
 */

const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const PT_NOTE = 4;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const NT_GNU_BUILD_ID = 3;

/** The SSQP conventions pad shorter build-ids to this length with zeros. */
const KEY_BUILD_ID_BYTES = 20;
/** Shorter build-ids are not worth a key: too likely to collide with another file's. */
const MIN_BUILD_ID_BYTES = 8;
/**
 * Notes read while looking for the build-id, over all note sections and segments together. Real
 * files have a few hundred bytes of notes; the limit stops a file whose thousands of note headers
 * all point at the same large range from making us read it thousands of times.
 */
const MAX_NOTE_BYTES = 1024 * 1024;
/** Linked files name their sections in a few hundred bytes; this leaves room for huge objects. */
const MAX_SECTION_NAMES_BYTES = 4 * 1024 * 1024;

const SYMBOL_SECTIONS = new Set(['.debug_info', '.zdebug_info']);
const GNU_NOTE_NAME = Buffer.from('GNU\0', 'latin1');

/** Reads a header's fields in the file's byte order and word size. */
class Layout {
  constructor(
    readonly is64: boolean,
    private readonly littleEndian: boolean,
  ) {}

  get headerSize(): number {
    return this.is64 ? 64 : 52;
  }

  get programHeaderSize(): number {
    return this.is64 ? 56 : 32;
  }

  get sectionHeaderSize(): number {
    return this.is64 ? 64 : 40;
  }

  u16(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  }

  u32(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  }

  /** An address, offset or size: 4 bytes in ELF32, 8 in ELF64. */
  word(buf: Buffer, at: number): number {
    if (!this.is64) return this.u32(buf, at);
    const value = this.littleEndian ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError(`ELF field value 0x${value.toString(16)} is beyond any file`);
    }
    return Number(value);
  }
}

interface ElfHeader {
  readonly layout: Layout;
  readonly phoff: number;
  readonly shoff: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shentsize: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

interface Section {
  readonly name: number;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly align: number;
}

/** A run of notes in the file: a note section or a PT_NOTE segment. */
interface NoteRegion {
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  readonly what: string;
}

function layoutOf(head: Buffer): Layout | undefined {
  if (head.length < 6 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const elfClass = head[4];
  const data = head[5];
  if (elfClass !== ELFCLASS32 && elfClass !== ELFCLASS64) return undefined;
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) return undefined;
  return new Layout(elfClass === ELFCLASS64, data === ELFDATA2LSB);
}

async function readHeader(source: ByteSource): Promise<ElfHeader> {
  const head = await source.read(0, Math.min(source.size, 64));
  const layout = layoutOf(head);
  if (layout === undefined)
    throw new FormatError('not an ELF file (bad magic, class or byte order)');
  if (head.length < layout.headerSize) {
    throw new FormatError(`ELF header truncated: ${head.length} of ${layout.headerSize} bytes`);
  }
  const at = layout.is64
    ? { phoff: 32, shoff: 40, phentsize: 54 }
    : { phoff: 28, shoff: 32, phentsize: 42 };
  return {
    layout,
    phoff: layout.word(head, at.phoff),
    shoff: layout.word(head, at.shoff),
    phentsize: layout.u16(head, at.phentsize),
    phnum: layout.u16(head, at.phentsize + 2),
    shentsize: layout.u16(head, at.phentsize + 4),
    shnum: layout.u16(head, at.phentsize + 6),
    shstrndx: layout.u16(head, at.phentsize + 8),
  };
}

/** Reads a table of fixed-size entries after checking that the header describes it sanely. */
async function readTable(
  source: ByteSource,
  what: string,
  offset: number,
  count: number,
  entrySize: number,
  expectedEntrySize: number,
): Promise<Buffer> {
  if (entrySize !== expectedEntrySize) {
    throw new FormatError(`${what} entries are ${entrySize} bytes, not ${expectedEntrySize}`);
  }
  // Counts are 16-bit, so the table is at most 4 MiB: only the file's size can make it absurd.
  const length = count * entrySize;
  if (offset + length > source.size) {
    throw new FormatError(
      `${what} (${count} entries at ${offset}) runs past the end of the ${source.size}-byte file`,
    );
  }
  return source.read(offset, length);
}

async function readSections(source: ByteSource, header: ElfHeader): Promise<Section[]> {
  const { layout } = header;
  // e_shoff 0 means no section table (gABI), whatever e_shnum says.
  if (header.shoff === 0) return [];
  const at = layout.is64
    ? { offset: 24, size: 32, align: 48 }
    : { offset: 16, size: 20, align: 32 };
  // With more than 65,279 sections, e_shnum is 0 and section 0's sh_size holds the count (gABI
  // extended numbering). Only huge relocatable objects need it, and they carry no build-id.
  const extended = header.shnum === 0;
  const table = await readTable(
    source,
    'ELF section header table',
    header.shoff,
    extended ? 1 : header.shnum,
    header.shentsize,
    layout.sectionHeaderSize,
  );
  if (extended) {
    if (layout.word(table, at.size) === 0) return [];
    throw new FormatError('ELF extended section numbering (over 65,279 sections) is not supported');
  }
  const sections: Section[] = [];
  for (let base = 0; base < table.length; base += layout.sectionHeaderSize) {
    sections.push({
      name: layout.u32(table, base),
      type: layout.u32(table, base + 4),
      offset: layout.word(table, base + at.offset),
      size: layout.word(table, base + at.size),
      align: layout.word(table, base + at.align),
    });
  }
  return sections;
}

async function readNoteSegments(source: ByteSource, header: ElfHeader): Promise<NoteRegion[]> {
  const { layout } = header;
  if (header.phoff === 0 || header.phnum === 0) return [];
  const table = await readTable(
    source,
    'ELF program header table',
    header.phoff,
    header.phnum,
    header.phentsize,
    layout.programHeaderSize,
  );
  const at = layout.is64 ? { offset: 8, size: 32, align: 48 } : { offset: 4, size: 16, align: 28 };
  const regions: NoteRegion[] = [];
  for (let base = 0, index = 0; base < table.length; base += layout.programHeaderSize, index++) {
    if (layout.u32(table, base) !== PT_NOTE) continue;
    regions.push({
      offset: layout.word(table, base + at.offset),
      size: layout.word(table, base + at.size),
      align: layout.word(table, base + at.align),
      what: `PT_NOTE segment ${index}`,
    });
  }
  return regions;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** Finds the GNU build-id among the notes of the regions, reading at most MAX_NOTE_BYTES. */
async function findBuildId(
  source: ByteSource,
  layout: Layout,
  regions: readonly NoteRegion[],
  budget: { remaining: number },
): Promise<Buffer | undefined> {
  for (const region of regions) {
    if (region.size === 0) continue;
    if (region.offset + region.size > source.size) {
      throw new FormatError(
        `${region.what} (${region.size} bytes at ${region.offset}) runs past the end of the ${source.size}-byte file`,
      );
    }
    if (region.size > budget.remaining) {
      throw new FormatError(`ELF notes larger than ${MAX_NOTE_BYTES} bytes in all`);
    }
    budget.remaining -= region.size;
    const notes = await source.read(region.offset, region.size);
    // Notes are 4-byte aligned, except in sections and segments aligned to 8 (gABI).
    const align = region.align === 8 ? 8 : 4;
    for (let at = 0; at + 12 <= notes.length;) {
      const nameSize = layout.u32(notes, at);
      const descSize = layout.u32(notes, at + 4);
      const type = layout.u32(notes, at + 8);
      const descStart = alignUp(at + 12 + nameSize, align);
      const descEnd = descStart + descSize;
      if (descEnd > notes.length) {
        throw new FormatError(
          `note at ${at} of ${region.what} (name ${nameSize} bytes, data ${descSize} bytes) runs past its end`,
        );
      }
      if (
        type === NT_GNU_BUILD_ID &&
        nameSize === GNU_NOTE_NAME.length &&
        notes.subarray(at + 12, at + 16).equals(GNU_NOTE_NAME)
      ) {
        return notes.subarray(descStart, descEnd);
      }
      at = alignUp(descEnd, align);
    }
  }
  return undefined;
}

async function hasSymbolSections(
  source: ByteSource,
  header: ElfHeader,
  sections: readonly Section[],
): Promise<boolean> {
  if (sections.length === 0 || header.shstrndx === 0) return false;
  const table = sections[header.shstrndx];
  if (table === undefined) {
    throw new FormatError(
      `ELF section name table is section ${header.shstrndx} of ${sections.length}`,
    );
  }
  if (table.type === SHT_NOBITS || table.size === 0) return false;
  if (table.size > MAX_SECTION_NAMES_BYTES) {
    throw new FormatError(
      `ELF section name table of ${table.size} bytes is larger than ${MAX_SECTION_NAMES_BYTES}`,
    );
  }
  if (table.offset + table.size > source.size) {
    throw new FormatError(
      `ELF section name table (${table.size} bytes at ${table.offset}) runs past the end of the ${source.size}-byte file`,
    );
  }
  const names = await source.read(table.offset, table.size);
  return sections.some((section) => {
    if (section.name >= names.length) return false;
    const end = names.indexOf(0, section.name);
    return SYMBOL_SECTIONS.has(
      names.toString('latin1', section.name, end < 0 ? names.length : end),
    );
  });
}

async function elfKeys(source: ByteSource, fileName: string): Promise<KeyResult> {
  const header = await readHeader(source);
  const { layout } = header;
  const sections = await readSections(source, header);
  const budget = { remaining: MAX_NOTE_BYTES };
  // Sections first: a debug file made by eu-strip or objcopy keeps its note sections but may keep
  // program headers that describe the original file's layout. Segments are the fallback for files
  // whose section table is gone (sstrip).
  const noteSections = sections.flatMap((section, index) =>
    section.type === SHT_NOTE ? [{ ...section, what: `note section ${index}` }] : [],
  );
  const buildId =
    (await findBuildId(source, layout, noteSections, budget)) ??
    (await findBuildId(source, layout, await readNoteSegments(source, header), budget));
  if (buildId === undefined) {
    return { format: 'elf', keys: [], warnings: ['no GNU build-id note, so no key'] };
  }
  if (buildId.length < MIN_BUILD_ID_BYTES || buildId.length > KEY_BUILD_ID_BYTES) {
    // A note may hold a megabyte; the warning shows enough of it to recognise.
    const shown = buildId.length <= 32 ? hex(buildId) : `${hex(buildId.subarray(0, 32))}...`;
    return {
      format: 'elf',
      keys: [],
      warnings: [
        `GNU build-id ${shown} is ${buildId.length} bytes; a key needs ${MIN_BUILD_ID_BYTES} to ${KEY_BUILD_ID_BYTES}`,
      ],
    };
  }
  const id = hex(buildId).padEnd(2 * KEY_BUILD_ID_BYTES, '0');
  const name = keyFileName(fileName);
  const key: DerivedKey = (await hasSymbolSections(source, header, sections))
    ? { key: `_.debug/elf-buildid-sym-${id}/_.debug`, convention: 'elf-buildid-sym' }
    : { key: `${name}/elf-buildid-${id}/${name}`, convention: 'elf-buildid' };
  return { format: 'elf', keys: [key], warnings: [], identity: [id] };
}

export const elfKeyGenerator: KeyGenerator = {
  format: 'elf',
  detect: (head) => layoutOf(head) !== undefined,
  keys: elfKeys,
};
