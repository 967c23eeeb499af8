import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DamagedZipError, entryProblem, PackageZip, ZipLimits } from '../../shared/zip/packageZip';
import { memoryReader } from '../support/memorySource';
import { makeZip, patchEntryHeaders, renameEntries } from '../support/zips';

const limits: ZipLimits = { maxEntries: 100_000, maxEntryBytes: 1 << 30, maxCompressionRatio: 100 };
const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/zips', name));

async function open(bytes: Buffer, overrides: Partial<ZipLimits> = {}) {
  const reader = memoryReader(bytes);
  const zip = await PackageZip.open(reader, bytes.length, { ...limits, ...overrides });
  return { zip, reader };
}

/** The bytes of an entry as they lie in the zip at the offset the reader resolved. */
async function rawData(bytes: Buffer, zip: PackageZip, name: string): Promise<Buffer> {
  const entry = zip.entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no entry ${name}`);
  const offset = await zip.dataOffset(entry);
  return bytes.subarray(offset, offset + entry.compressedSize);
}

describe('PackageZip', () => {
  const content = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(50));

  it.each([
    ['stored', { compress: false }, {}],
    ['deflated', { compress: true }, {}],
    ['stored, zip64 forced', { compress: false }, { forceZip64: true }],
    ['deflated, zip64 forced', { compress: true }, { forceZip64: true }],
    ['stored, data descriptor', { compress: false, streamed: true }, {}],
    ['deflated, data descriptor, zip64', { compress: true, streamed: true }, { forceZip64: true }],
  ])('lists %s entries and finds their data', async (_label, entryOptions, zipOptions) => {
    const bytes = await makeZip(
      [
        { name: 'a/first.pdb', data: content, ...entryOptions },
        { name: 'second.dll', data: 'MZ second', ...entryOptions },
      ],
      zipOptions,
    );
    const { zip } = await open(bytes);
    expect(zip.entries.map((e) => e.name)).toEqual(['a/first.pdb', 'second.dll']);
    const first = zip.entries[0]!;
    expect(first.size).toBe(content.length);
    const data = await rawData(bytes, zip, 'a/first.pdb');
    if (entryOptions.compress) {
      expect(first.method).toBe(8);
      expect((await import('node:zlib')).inflateRawSync(data)).toEqual(content);
    } else {
      expect(first.method).toBe(0);
      expect(data).toEqual(content);
    }
    expect(await zip.readSmallEntry(zip.entries[1]!, 1000)).toEqual(Buffer.from('MZ second'));
    zip.close();
  });

  it('reads a zip with an archive comment', async () => {
    const bytes = await makeZip([{ name: 'x.txt', data: 'x' }], {
      comment: 'built by a test, with a comment',
    });
    const { zip } = await open(bytes);
    expect(zip.entries.map((e) => e.name)).toEqual(['x.txt']);
  });

  it('leaves out directory entries', async () => {
    const bytes = renameEntries(
      await makeZip([
        { name: 'dirX', data: '' },
        { name: 'dir/file.txt', data: 'f' },
      ]),
      { dirX: 'dir/' },
    );
    const { zip } = await open(bytes);
    expect(zip.entries.map((e) => e.name)).toEqual(['dir/file.txt']);
  });

  // Old .NET zip writers used backslashes; like NuGet, entries read with "/" separators.
  it('keeps unsafe names as data, with backslashes read as "/"', async () => {
    const renames = {
      'up/evil.pdb': '../evil.pdb',
      'xabs.pdb': '/abs.pdb',
      'win_style.pdb': 'win\\style.pdb',
      'C_/drive.pdb': 'C:/drive.pdb',
    };
    const bytes = renameEntries(
      await makeZip(Object.keys(renames).map((name) => ({ name, data: name }))),
      renames,
    );
    const names = ['../evil.pdb', '/abs.pdb', 'win/style.pdb', 'C:/drive.pdb'];
    const { zip } = await open(bytes);
    expect(zip.entries.map((e) => e.name)).toEqual(names);
  });

  it('reads a central directory of 10,000 entries in a few requests', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => ({
      name: `dir${i % 10}/file-${i}.pdb`,
      data: `file ${i}`,
      compress: false,
    }));
    const bytes = await makeZip(entries);
    const reader = memoryReader(bytes, 256 * 1024);
    const zip = await PackageZip.open(reader, bytes.length, limits);
    expect(zip.entries).toHaveLength(10_000);
    const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const centralDirectoryBytes = bytes.readUInt32LE(eocd + 12);
    expect(centralDirectoryBytes).toBeGreaterThan(500_000);
    // One request per 256 KiB of directory, not one per entry.
    expect(reader.requests).toBeLessThanOrEqual(
      Math.ceil(centralDirectoryBytes / (256 * 1024)) + 1,
    );
    zip.close();
  });

  it('refuses bytes that are not a zip', async () => {
    await expect(open(Buffer.from('this is not a zip file at all'))).rejects.toThrow(
      DamagedZipError,
    );
    await expect(open(Buffer.from('this is not a zip file at all'))).rejects.toThrow(
      /not a readable zip/,
    );
  });

  it('refuses an empty blob', async () => {
    await expect(open(Buffer.alloc(0))).rejects.toThrow(/not a readable zip/);
  });

  it('refuses a truncated zip', async () => {
    const bytes = await makeZip([{ name: 'a.txt', data: content }]);
    await expect(open(bytes.subarray(0, bytes.length - 30))).rejects.toThrow(DamagedZipError);
  });

  it('refuses a central directory that points outside the blob', async () => {
    const bytes = Buffer.from(await makeZip([{ name: 'a.txt', data: content, compress: false }]));
    const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(bytes.length + 1000, central + 42); // relative offset of local header
    await expect(open(bytes)).rejects.toThrow(/beyond the end of the \d+-byte package/);
  });

  it('refuses overlapping entries', async () => {
    const bytes = Buffer.from(
      await makeZip([
        { name: 'a.txt', data: content, compress: false },
        { name: 'b.txt', data: content, compress: false },
      ]),
    );
    const second = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(10, second + 42); // b.txt now starts inside a.txt
    await expect(open(bytes)).rejects.toThrow(/"a.txt" and "b.txt" overlap|overlap/);
  });

  it('refuses more entries than the limit', async () => {
    const bytes = await makeZip([
      { name: 'a', data: 'a' },
      { name: 'b', data: 'b' },
      { name: 'c', data: 'c' },
    ]);
    await expect(open(bytes, { maxEntries: 2 })).rejects.toThrow(/3 entries, over the limit of 2/);
  });

  it('reports encrypted entries (Info-ZIP zip -P)', async () => {
    const { zip } = await open(fixture('encrypted.zip'));
    const secret = zip.entries.find((e) => e.name === 'secret.pdb')!;
    expect(secret.encrypted).toBe(true);
    expect(entryProblem(secret, limits)).toBe('entry "secret.pdb" is encrypted');
    expect(
      entryProblem(
        zip.entries.find((e) => e.name === 'symbol_index.json')!,
        limits,
      ),
    ).toBeUndefined();
  });

  it('reports unsupported compression methods (Info-ZIP zip -Z bzip2)', async () => {
    const { zip } = await open(fixture('bzip2.zip'));
    const data = zip.entries.find((e) => e.name === 'data.pdb')!;
    expect(data.method).toBe(12);
    expect(entryProblem(data, limits)).toMatch(
      /compression method 12; only stored \(0\) and deflate \(8\)/,
    );
  });

  it('reports entries over the size and ratio limits', () => {
    const entry = { name: 'big.pdb', method: 8, encrypted: false, crc32: 0, localHeaderOffset: 0 };
    expect(
      entryProblem(
        { ...entry, size: 2000, compressedSize: 1000 },
        { ...limits, maxEntryBytes: 1500 },
      ),
    ).toMatch(/2000 bytes, over the limit of 1500/);
    expect(
      entryProblem({ ...entry, size: 10 * 1024 * 1024, compressedSize: 10_000 }, limits),
    ).toMatch(/over the compression ratio limit of 100/);
    // Small files are exempt: a few KB of zeros legitimately compresses 1000:1.
    expect(entryProblem({ ...entry, size: 100_000, compressedSize: 100 }, limits)).toBeUndefined();
  });

  it('refuses a deflated entry that declares more compressed bytes than deflate can take', () => {
    const entry = { name: 'tiny.pdb', method: 8, encrypted: false, crc32: 0, localHeaderOffset: 0 };
    expect(entryProblem({ ...entry, size: 96, compressedSize: 200 * 1024 * 1024 }, limits)).toBe(
      'entry "tiny.pdb" declares 209715200 compressed bytes for 96 bytes of data, more than deflate ever takes (at most 1216 here)',
    );
    // What writers do: zlib adds a few bytes a stored block to incompressible data, the .NET
    // Framework before 4.5 a block header of about 100 bytes even to a few bytes of text.
    const mib = 1024 * 1024;
    expect(entryProblem({ ...entry, size: mib, compressedSize: mib + 64 * 5 + 6 }, limits)).toBe(
      undefined,
    );
    expect(entryProblem({ ...entry, size: 11, compressedSize: 115 }, limits)).toBeUndefined();
    expect(entryProblem({ ...entry, size: 0, compressedSize: 2 }, limits)).toBeUndefined();
  });

  it('reads a stored entry that declares more bytes than its size as a damaged directory', async () => {
    const bytes = patchEntryHeaders(
      await makeZip([{ name: 'lie.pdb', data: Buffer.alloc(4096), compress: false }]),
      'lie.pdb',
      { size: 96 },
    );
    await expect(open(bytes)).rejects.toThrow(
      'the central directory is damaged: compressed/uncompressed size mismatch for stored file: 4096 != 96',
    );
  });

  it('refuses to read a small entry past the limit', async () => {
    const bytes = await makeZip([{ name: 'a.txt', data: content }]);
    const { zip } = await open(bytes);
    await expect(zip.readSmallEntry(zip.entries[0]!, 10)).rejects.toThrow(/over the limit of 10/);
  });
});
