import { ByteSource, FormatError } from './byteSource';
import { KeyGenerator, KeyResult, guidHex, keyFileName } from './keyGenerator';

const MSF_MAGIC = Buffer.from('Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0', 'latin1');
/** The superblock up to the block map, the array of pages that list the directory's pages. */
const SUPERBLOCK_BYTES = 52;
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65536;
/**
 * Stream numbers are 16-bit wherever the PDB format stores one (module records, the DBI's debug
 * header list), and 0xffff means "none": a directory claiming more streams is not a PDB.
 */
const MAX_STREAMS = 0xffff;
/** A deleted stream keeps its directory slot with this size and no pages. */
const NIL_STREAM_SIZE = 0xffffffff;
const PDB_INFO_STREAM = 1;
const DBI_STREAM = 3;
/** Version, signature, age, then the GUID: the PDB info stream's header as of VC 7.0. */
const INFO_HEADER_BYTES = 28;
/** Signature, version, age: how every DBI header of the current layout starts, any version. */
const DBI_HEADER_BYTES = 12;
/** Marks a DBI header of the new layout; older ones start with a module count instead. */
const DBI_NEW_SIGNATURE = 0xffffffff;

/** Pages of one MSF stream, in order, and how many of their bytes belong to it. */
interface PagedStream {
  readonly pages: readonly number[];
  readonly size: number;
}

class MsfReader {
  /** Every page already claimed by the directory or a stream read, to catch loops and overlaps. */
  private readonly claimed = new Map<number, string>();

  constructor(
    private readonly source: ByteSource,
    private readonly pageSize: number,
    private readonly numPages: number,
  ) {}

  /**
   * Checks the page indices of one structure: inside the file, not the superblock, and not shared
   * with anything read before. An MSF has no pointers to follow, so a "loop" is a page list that
   * names its own page or the directory's, and an overlap is two streams sharing a page; both
   * are corruption (or an attack), never a layout a PDB writer produces.
   */
  claim(owner: string, pages: readonly number[]): void {
    for (const page of pages) {
      if (page === 0 || page >= this.numPages) {
        throw new FormatError(
          `${owner} names page ${page}, outside pages 1 to ${this.numPages - 1} of the file`,
        );
      }
      const other = this.claimed.get(page);
      if (other !== undefined) {
        throw new FormatError(
          other === owner
            ? `${owner} names page ${page} twice`
            : `${owner} and ${other} both claim page ${page}`,
        );
      }
      this.claimed.set(page, owner);
    }
  }

  /**
   * Reads bytes of a paged stream, one ranged read per run of consecutive pages. Callers check
   * the range against the stream's size; a page past its list is a FormatError all the same.
   */
  async read(stream: PagedStream, offset: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let position = offset;
    const end = offset + length;
    while (position < end) {
      const index = Math.floor(position / this.pageSize);
      const within = position - index * this.pageSize;
      let runPages = 1;
      while (
        index + runPages < stream.pages.length &&
        (index + runPages) * this.pageSize < end &&
        stream.pages[index + runPages] === pageAt(stream, index) + runPages
      ) {
        runPages += 1;
      }
      const take = Math.min(end - position, runPages * this.pageSize - within);
      parts.push(await this.source.read(pageAt(stream, index) * this.pageSize + within, take));
      position += take;
    }
    return Buffer.concat(parts, length);
  }
}

function pageAt(stream: PagedStream, index: number): number {
  const page = stream.pages[index];
  if (page === undefined) throw new FormatError(`stream page ${index} does not exist`);
  return page;
}

function pagesFor(size: number, pageSize: number): number {
  return Math.ceil(size / pageSize);
}

function uint32s(bytes: Buffer): number[] {
  const values: number[] = [];
  for (let offset = 0; offset + 4 <= bytes.length; offset += 4)
    values.push(bytes.readUInt32LE(offset));
  return values;
}

function streamPageCount(size: number, pageSize: number): number {
  return size === NIL_STREAM_SIZE ? 0 : pagesFor(size, pageSize);
}

/**
 * Windows PDBs in the MSF 7.00 container, keyed by the GUID of the PDB info stream and the age of
 * the DBI stream: the pair the linker writes into the image's CodeView record, which is what a
 * debugger asks for. The info stream's own age goes up whenever a tool rewrites the PDB without
 * relinking, so it is only the fallback for a PDB without a DBI stream (as Microsoft.SymbolStore
 * does).
 */
export const pdbKeyGenerator: KeyGenerator = {
  format: 'pdb',

  detect(head: Buffer): boolean {
    return head.length >= MSF_MAGIC.length && head.subarray(0, MSF_MAGIC.length).equals(MSF_MAGIC);
  },

  async keys(source: ByteSource, fileName: string): Promise<KeyResult> {
    if (source.size < SUPERBLOCK_BYTES + 4) {
      throw new FormatError(`the file is ${source.size} bytes, too short for an MSF superblock`);
    }
    const superblock = await source.read(0, SUPERBLOCK_BYTES);
    if (!superblock.subarray(0, MSF_MAGIC.length).equals(MSF_MAGIC)) {
      throw new FormatError('no MSF 7.00 signature at the start of the file');
    }
    const pageSize = superblock.readUInt32LE(32);
    const numPages = superblock.readUInt32LE(40);
    const directoryBytes = superblock.readUInt32LE(44);
    if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) {
      throw new FormatError(`page size ${pageSize} is not a power of two from 512 to 65536`);
    }
    if (numPages * pageSize > source.size) {
      throw new FormatError(
        `the superblock claims ${numPages} pages of ${pageSize} bytes, but the file has only ${source.size} bytes`,
      );
    }
    const directoryPages = pagesFor(directoryBytes, pageSize);
    if (directoryBytes < 4 || directoryPages >= numPages) {
      throw new FormatError(
        `a stream directory of ${directoryBytes} bytes cannot be in a file of ${numPages} pages`,
      );
    }
    // Each map page lists up to pageSize / 4 directory pages; the map itself sits in page 0.
    const mapPages = pagesFor(directoryPages * 4, pageSize);
    if (SUPERBLOCK_BYTES + mapPages * 4 > pageSize) {
      throw new FormatError(
        `the ${directoryBytes}-byte directory needs ${mapPages} block map pages, more than the superblock can list`,
      );
    }

    const msf = new MsfReader(source, pageSize, numPages);
    const map: PagedStream = {
      pages: uint32s(await source.read(SUPERBLOCK_BYTES, mapPages * 4)),
      size: directoryPages * 4,
    };
    msf.claim('the block map', map.pages);
    const directory: PagedStream = {
      pages: uint32s(await msf.read(map, 0, map.size)),
      size: directoryBytes,
    };
    msf.claim('the stream directory', directory.pages);

    const streamCount = (await msf.read(directory, 0, 4)).readUInt32LE(0);
    if (streamCount > MAX_STREAMS) {
      throw new FormatError(`the directory claims ${streamCount} streams; a PDB has at most 65535`);
    }
    if (4 + streamCount * 4 > directoryBytes) {
      throw new FormatError(
        `${streamCount} stream sizes do not fit in the ${directoryBytes}-byte directory`,
      );
    }
    // Page lists follow the sizes, stream after stream: the offset of each is the sum before it.
    const streams: { size: number; listOffset: number }[] = [];
    let listOffset = 4 + streamCount * 4;
    for (const size of uint32s(await msf.read(directory, 4, streamCount * 4))) {
      if (size !== NIL_STREAM_SIZE && size > numPages * pageSize) {
        throw new FormatError(
          `stream ${streams.length} claims ${size} bytes, more than the whole file`,
        );
      }
      streams.push({ size, listOffset });
      listOffset += streamPageCount(size, pageSize) * 4;
    }
    if (listOffset > directoryBytes) {
      throw new FormatError(
        `the page lists of ${streamCount} streams need ${listOffset} bytes of a ${directoryBytes}-byte directory`,
      );
    }

    /** The first bytes of a stream, from only the pages that hold them. */
    const readHead = async (stream: number, name: string, length: number) => {
      const found = streams[stream];
      if (!found || found.size === NIL_STREAM_SIZE || found.size < length) return undefined;
      const list = await msf.read(directory, found.listOffset, pagesFor(length, pageSize) * 4);
      const pages = uint32s(list);
      msf.claim(name, pages);
      return msf.read({ pages, size: length }, 0, length);
    };

    const infoSize = streams[PDB_INFO_STREAM]?.size ?? NIL_STREAM_SIZE;
    if (infoSize === NIL_STREAM_SIZE) {
      throw new FormatError('the PDB has no PDB info stream (stream 1)');
    }
    const infoHeader = await readHead(PDB_INFO_STREAM, 'the PDB info stream', INFO_HEADER_BYTES);
    if (!infoHeader) {
      throw new FormatError(
        `the PDB info stream is ${infoSize} bytes, too short to hold a GUID: a PDB older than VC 7.0`,
      );
    }
    const guid = guidHex(infoHeader.subarray(12, 28));
    let age = infoHeader.readUInt32LE(8);
    const warnings: string[] = [];

    const dbiHeader = await readHead(DBI_STREAM, 'the DBI stream', DBI_HEADER_BYTES);
    if (dbiHeader && dbiHeader.readUInt32LE(0) === DBI_NEW_SIGNATURE) {
      age = dbiHeader.readUInt32LE(8);
    } else {
      warnings.push(
        'no DBI stream header to take the age from; the PDB info stream age is used instead, which a debugger may not ask for',
      );
    }

    const name = keyFileName(fileName);
    return {
      format: 'pdb',
      keys: [{ key: `${name}/${guid}${age.toString(16)}/${name}`, convention: 'pdb' }],
      warnings,
    };
  },
};
