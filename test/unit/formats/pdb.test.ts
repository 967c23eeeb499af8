import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { counting } from '../../support/countingSource';
import { bufferSource, FormatError, fileSource } from '../../../shared/formats/byteSource';
import { pdbKeyGenerator } from '../../../shared/formats/pdb';

interface Expected {
  format: string;
  keys: string[];
  codeViewKey?: string;
}

const peFolder = path.join(__dirname, '../../fixtures/pe');
const expected = JSON.parse(
  readFileSync(path.join(peFolder, 'expected-keys.json'), 'utf8'),
) as Record<string, Expected>;
const fixture = (name: string) => readFileSync(path.join(peFolder, name));
const pdbNames = Object.keys(expected).filter((name) => expected[name]?.format === 'pdb');

const GUID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const GUID_SSQP = '33221100554477668899aabbccddeeff';

/** A PDB info stream of VC 7.0: version, signature, age, GUID, then an empty name table. */
function infoStream(age: number): Buffer {
  const bytes = Buffer.alloc(32);
  bytes.writeUInt32LE(20000404, 0);
  bytes.writeUInt32LE(0x12345678, 4);
  bytes.writeUInt32LE(age, 8);
  GUID.copy(bytes, 12);
  return bytes;
}

/** The start of a DBI stream; 0xffffffff marks the layout with signature, version, age. */
function dbiStream(age: number, signature = 0xffffffff): Buffer {
  const bytes = Buffer.alloc(64);
  bytes.writeUInt32LE(signature, 0);
  bytes.writeUInt32LE(19990903, 4);
  bytes.writeUInt32LE(age, 8);
  return bytes;
}

interface MsfOptions {
  pageSize?: number;
  /** Stream contents by number; null is a deleted (nil) stream. */
  streams: (Buffer | null)[];
  /** Rewrites the directory's words (stream count, sizes, page lists) before they are written. */
  directory?: (words: number[], layout: { streamPages: number[][] }) => number[];
  /** Rewrites the list of directory pages that the block map page holds. */
  directoryPages?: (pages: number[]) => number[];
}

const MAP_PAGE = 3;

/**
 * Writes an MSF 7.00 file the way linkers lay one out: superblock, two free page maps, the block
 * map page, the streams, and the directory last. Tests bend the directory to make it lie.
 */
function msf({
  pageSize = 512,
  streams,
  directory = (w) => w,
  directoryPages = (p) => p,
}: MsfOptions) {
  let next = MAP_PAGE + 1;
  const streamPages = streams.map((stream) =>
    Array.from({ length: Math.ceil((stream?.length ?? 0) / pageSize) }, () => next++),
  );
  const words = directory(
    [
      streams.length,
      ...streams.map((stream) => stream?.length ?? 0xffffffff),
      ...streamPages.flat(),
    ],
    { streamPages },
  );
  const ownDirectoryPages = Array.from(
    { length: Math.ceil((words.length * 4) / pageSize) },
    () => next++,
  );
  const bytes = Buffer.alloc(next * pageSize);
  bytes.write('Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0', 0, 'latin1');
  bytes.writeUInt32LE(pageSize, 32);
  bytes.writeUInt32LE(1, 36);
  bytes.writeUInt32LE(next, 40);
  bytes.writeUInt32LE(words.length * 4, 44);
  bytes.writeUInt32LE(MAP_PAGE, 52);
  streams.forEach((stream, index) =>
    streamPages[index]?.forEach((page, i) =>
      stream?.copy(bytes, page * pageSize, i * pageSize, (i + 1) * pageSize),
    ),
  );
  directoryPages(ownDirectoryPages).forEach((page, i) =>
    bytes.writeUInt32LE(page, MAP_PAGE * pageSize + i * 4),
  );
  words.forEach((word, i) => {
    const page = ownDirectoryPages[Math.floor((i * 4) / pageSize)] ?? 0;
    bytes.writeUInt32LE(word, page * pageSize + ((i * 4) % pageSize));
  });
  return bytes;
}

const wellFormed = () => msf({ streams: [Buffer.alloc(0), infoStream(9), null, dbiStream(4)] });

async function formatError(bytes: Buffer): Promise<string> {
  const result = await pdbKeyGenerator.keys(bufferSource(bytes), 'x.pdb').then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(result).toBeInstanceOf(FormatError);
  return (result as FormatError).message;
}

describe('Windows PDB key generator', () => {
  it.each(pdbNames)('keys %s as llvm-pdbutil says', async (name) => {
    const result = await pdbKeyGenerator.keys(bufferSource(fixture(name)), `sym/${name}`);
    expect(result).toEqual({
      format: 'pdb',
      keys: expected[name]?.keys.map((key) => ({ key, convention: 'pdb' })),
      warnings: [],
    });
  });

  it.each(
    Object.entries(expected).flatMap(([image, { codeViewKey }]) =>
      codeViewKey ? [[image, codeViewKey] as const] : [],
    ),
  )("gives the key %s's CodeView record asks for", async (_image, codeViewKey) => {
    const pdb = codeViewKey.split('/')[0] ?? '';
    const result = await pdbKeyGenerator.keys(bufferSource(fixture(pdb)), pdb);
    expect(result.keys.map(({ key }) => key)).toEqual([codeViewKey]);
  });

  it('takes the age from the DBI stream, not the PDB info stream', async () => {
    // llvm-pdbutil's summary shows the info stream's age; pdb2yaml shows the DBI's.
    expect(fixture('ages.pdb.summary.txt').toString()).toMatch(/^ {2}Age: 7$/m);
    expect(fixture('ages.pdb.streams.yaml.txt').toString()).toMatch(/^ {2}Age: +5$/m);
    const result = await pdbKeyGenerator.keys(bufferSource(fixture('ages.pdb')), 'ages.pdb');
    expect(result.keys[0]?.key).toBe('ages.pdb/0a1b2c3d4e5f60718293a4b5c6d7e8f95/ages.pdb');
  });

  it('follows a stream directory that spans pages', async () => {
    expect(fixture('manystreams.pdb.streams.yaml.txt').toString()).toMatch(
      /NumDirectoryBlocks: 2\n/,
    );
    const result = await pdbKeyGenerator.keys(bufferSource(fixture('manystreams.pdb')), 'm.pdb');
    expect(result.keys[0]?.key).toBe('m.pdb/5d1e6f2a3b4c4d5e8f60718293a4b5c62/m.pdb');
  });

  it('reads a file on disk', async () => {
    const source = await fileSource(path.join(peFolder, 'console32.pdb'));
    try {
      const result = await pdbKeyGenerator.keys(source, 'console32.pdb');
      expect(result.keys[0]?.key).toBe(expected['console32.pdb']?.keys[0]);
    } finally {
      await source.close();
    }
  });

  it('reads a few pages, not the file', async () => {
    const source = counting(bufferSource(fixture('console64.pdb')));
    await pdbKeyGenerator.keys(source, 'console64.pdb');
    expect(source.bytes).toBeLessThan(1024);
  });

  it('reads what the test builder writes, at any page size', async () => {
    for (const pageSize of [512, 4096, 65536]) {
      const bytes = msf({ pageSize, streams: [null, infoStream(9), null, dbiStream(0x1a)] });
      const result = await pdbKeyGenerator.keys(bufferSource(bytes), 'Built.PDB');
      expect(result).toEqual({
        format: 'pdb',
        keys: [{ key: `built.pdb/${GUID_SSQP}1a/built.pdb`, convention: 'pdb' }],
        warnings: [],
      });
    }
  });

  describe('falls back to the PDB info stream age, with a warning,', () => {
    it.each([
      ['without a DBI stream', [null, infoStream(9)]],
      ['with a deleted DBI stream', [null, infoStream(9), null, null]],
      ['with a DBI stream too short for a header', [null, infoStream(9), null, Buffer.alloc(8)]],
      ['with an old-style DBI header', [null, infoStream(9), null, dbiStream(4, 3)]],
    ])('%s', async (_label, streams) => {
      const result = await pdbKeyGenerator.keys(bufferSource(msf({ streams })), 'x.pdb');
      expect(result.keys[0]?.key).toBe(`x.pdb/${GUID_SSQP}9/x.pdb`);
      expect(result.warnings).toEqual([expect.stringMatching(/PDB info stream age is used/)]);
    });
  });

  describe('detect', () => {
    const everything = [
      ...readdirSync(peFolder).filter((name) => /\.(exe|dll|pdb)$/.test(name)),
    ].map((name) => [name, fixture(name), name.endsWith('.pdb')] as const);
    const shared = path.join(__dirname, '../../../../shared/fixtures/portable-pdb');
    const others = readdirSync(shared).map(
      (name) => [name, readFileSync(path.join(shared, name)), false] as const,
    );

    it.each([...everything, ...others])('%s', (_name, bytes, isPdb) => {
      expect(pdbKeyGenerator.detect(bytes.subarray(0, 64))).toBe(isPdb);
    });

    it("claims none of the other formats' fixtures", () => {
      const root = path.join(__dirname, '../../fixtures');
      for (const folder of ['elf', 'macho', 'perfmap', 'zips']) {
        for (const name of readdirSync(path.join(root, folder))) {
          const head = readFileSync(path.join(root, folder, name)).subarray(0, 64);
          expect([folder, name, pdbKeyGenerator.detect(head)]).toEqual([folder, name, false]);
        }
      }
    });

    it('needs the whole 32-byte signature', () => {
      expect(pdbKeyGenerator.detect(fixture('ages.pdb').subarray(0, 31))).toBe(false);
      expect(pdbKeyGenerator.detect(fixture('ages.pdb').subarray(0, 32))).toBe(true);
      expect(pdbKeyGenerator.detect(Buffer.from('Microsoft C/C++ program database 2.00\r\n'))).toBe(
        false,
      );
    });
  });

  describe('rejects a malformed MSF with a FormatError', () => {
    const patched = (edit: (bytes: Buffer) => void) => {
      const bytes = wellFormed();
      edit(bytes);
      return bytes;
    };

    it.each([0, 31, 55])('a %i-byte file', async (length) => {
      expect(await formatError(fixture('ages.pdb').subarray(0, length))).toMatch(/too short/);
    });

    it('a file cut short of the pages its superblock counts', async () => {
      const bytes = fixture('console64.pdb');
      expect(await formatError(bytes.subarray(0, bytes.length / 2))).toBe(
        'the superblock claims 18 pages of 4096 bytes, but the file has only 36864 bytes',
      );
    });

    it('a wrong signature', async () => {
      expect(await formatError(patched((b) => b.write('7.01', 20, 'latin1')))).toMatch(
        /no MSF 7.00 signature/,
      );
    });

    it.each([0, 256, 1000, 131072])('page size %i', async (pageSize) => {
      expect(await formatError(patched((b) => b.writeUInt32LE(pageSize, 32)))).toMatch(
        /page size \d+ is not a power of two/,
      );
    });

    it.each([0, 3, 0xfffffff0])('a directory of %i bytes', async (size) => {
      expect(await formatError(patched((b) => b.writeUInt32LE(size, 44)))).toMatch(
        /a stream directory of \d+ bytes cannot be in a file of 7 pages/,
      );
    });

    it('a directory that needs more block map pages than the superblock holds', async () => {
      const numPages = 20000;
      const bytes = Buffer.concat([wellFormed(), Buffer.alloc(numPages * 512)]);
      bytes.writeUInt32LE(numPages, 40);
      bytes.writeUInt32LE(15000 * 512, 44);
      expect(await formatError(bytes)).toMatch(/needs 118 block map pages/);
    });

    it('a block map page past the end of the file', async () => {
      expect(await formatError(patched((b) => b.writeUInt32LE(9999, 52)))).toBe(
        'the block map names page 9999, outside pages 1 to 6 of the file',
      );
    });

    it('a directory that lists the superblock', async () => {
      const bytes = msf({ streams: [null, infoStream(1)], directoryPages: () => [0] });
      expect(await formatError(bytes)).toMatch(/the stream directory names page 0, outside/);
    });

    it('a directory that loops back onto the block map', async () => {
      const bytes = msf({ streams: [null, infoStream(1)], directoryPages: () => [MAP_PAGE] });
      expect(await formatError(bytes)).toBe(
        'the stream directory and the block map both claim page 3',
      );
    });

    it('a directory that names one page twice', async () => {
      const words = Array.from({ length: 200 }, () => 0);
      const bytes = msf({
        streams: [null, infoStream(1)],
        directory: (w) => [...w, ...words],
        directoryPages: (pages) => pages.map(() => pages[0] ?? 0),
      });
      expect(await formatError(bytes)).toMatch(/the stream directory names page \d+ twice/);
    });

    it('a stream that overlaps the directory', async () => {
      const bytes = patched((b) => {
        const directoryPage = b.readUInt32LE(MAP_PAGE * 512);
        // Words: count, four sizes, then stream 1's single page.
        b.writeUInt32LE(directoryPage, directoryPage * 512 + 5 * 4);
      });
      expect(await formatError(bytes)).toMatch(
        /^the PDB info stream and the stream directory both claim page \d+$/,
      );
    });

    it('two streams that share a page', async () => {
      const bytes = msf({
        streams: [null, infoStream(1), null, dbiStream(1)],
        directory: (words, { streamPages }) =>
          words.map((word) => (word === streamPages[3]?.[0] ? (streamPages[1]?.[0] ?? 0) : word)),
      });
      expect(await formatError(bytes)).toMatch(
        /^the DBI stream and the PDB info stream both claim page \d+$/,
      );
    });

    it('a stream page past the end of the file', async () => {
      const bytes = msf({
        streams: [null, infoStream(1)],
        directory: (words) => [...words.slice(0, -1), 0x7fffffff],
      });
      expect(await formatError(bytes)).toMatch(
        /the PDB info stream names page 2147483647, outside pages 1 to \d+ of the file/,
      );
    });

    it.each([0x10000, 0xffffffff])('an absurd stream count (%i)', async (count) => {
      const bytes = msf({
        streams: [null, infoStream(1)],
        directory: (w) => [count, ...w.slice(1)],
      });
      expect(await formatError(bytes)).toBe(
        `the directory claims ${count} streams; a PDB has at most 65535`,
      );
    });

    it('more stream sizes than the directory holds', async () => {
      const bytes = msf({
        streams: [null, infoStream(1)],
        directory: (w) => [5000, ...w.slice(1)],
      });
      expect(await formatError(bytes)).toMatch(
        /5000 stream sizes do not fit in the \d+-byte directory/,
      );
    });

    it('a stream larger than the file', async () => {
      const bytes = msf({
        streams: [null, infoStream(1)],
        directory: ([count, nil, ...rest]) => [count ?? 0, nil ?? 0, 0x40000000, ...rest.slice(1)],
      });
      expect(await formatError(bytes)).toBe(
        'stream 1 claims 1073741824 bytes, more than the whole file',
      );
    });

    it('page lists longer than the directory', async () => {
      const bytes = msf({
        streams: [null, infoStream(1)],
        directory: ([count, nil, ...rest]) => [count ?? 0, nil ?? 0, 512 * 6, ...rest.slice(1)],
      });
      expect(await formatError(bytes)).toMatch(/the page lists of 2 streams need \d+ bytes of a/);
    });

    it.each([
      ['a single stream', [Buffer.alloc(0)], /no PDB info stream/],
      ['a deleted PDB info stream', [null, null], /no PDB info stream/],
      ['a PDB info stream without a GUID', [null, Buffer.alloc(12)], /too short to hold a GUID/],
    ])('%s', async (_label, streams, message) => {
      expect(await formatError(msf({ streams }))).toMatch(message);
    });

    it('any truncation of a real PDB', async () => {
      const bytes = fixture('manystreams.pdb');
      for (const length of [56, 512, 1024, bytes.length - 512, bytes.length - 1]) {
        expect(await formatError(bytes.subarray(0, length))).toMatch(/too short|superblock claims/);
      }
    });
  });
});
