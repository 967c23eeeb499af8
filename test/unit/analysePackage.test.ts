import { readFileSync } from 'node:fs';
import { analysePackage } from '../../shared/indexing/analysePackage';
import { PackageZip } from '../../shared/zip/packageZip';
import { fixtureFiles } from '../support/fixtureKeys';
import { memoryReader } from '../support/memorySource';
import { makeZip, symbolIndex } from '../support/zips';

const limits = {
  maxEntries: 1000,
  maxEntryBytes: 1 << 30,
  maxCompressionRatio: 1000,
  maxIndexBytes: 1 << 20,
  inlineFileBytes: 16 * 1024,
};
const identity = { packageUid: 'uid', blob: 'default/p.zip', blobEtag: '"e"' };

async function analyse(bytes: Buffer) {
  const zip = await PackageZip.open(memoryReader(bytes), bytes.length, limits);
  try {
    return await analysePackage(zip, identity, limits);
  } finally {
    zip.close();
  }
}

describe('analysePackage', () => {
  const elf = fixtureFiles('elf').find((file) => file.name === 'hello')!;
  const elfKey = elf.keys[0]!;

  it('lets an explicit mapping beat the same derived key inside one package', async () => {
    const analysis = await analyse(
      await makeZip([
        {
          name: 'symbol_index.json',
          data: symbolIndex([{ clientKey: elfKey.toUpperCase(), blobPath: 'readme.txt' }]),
        },
        { name: 'readme.txt', data: 'explicit' },
        { name: 'bin/hello', data: readFileSync(elf.path) },
      ]),
    );
    expect(analysis.keys.map(({ key, source, location }) => [key, source, location.entry])).toEqual(
      [[elfKey, 'explicit', 'readme.txt']],
    );
  });

  it('serves one key from the first of two entries by name, warning when they differ', async () => {
    const other = fixtureFiles('elf').find((file) => file.name === 'hello.debug')!;
    const bytes = readFileSync(elf.path);
    const analysis = await analyse(
      await makeZip([
        { name: 'b/hello', data: bytes },
        { name: 'a/hello', data: bytes },
        { name: 'c/hello', data: Buffer.concat([bytes, Buffer.from('trailing bytes')]) },
        { name: 'd/hello.debug', data: readFileSync(other.path) },
      ]),
    );
    const served = analysis.keys.find((k) => k.key === elfKey);
    expect(served?.location.entry).toBe('a/hello');
    expect(analysis.warnings).toEqual([
      `key "${elfKey}" comes from both "a/hello" and "c/hello", which differ; "a/hello" is served`,
    ]);
  });

  it('skips NuGet metadata and warns about files of a known format that are broken', async () => {
    const truncated = readFileSync(elf.path).subarray(0, 200);
    const analysis = await analyse(
      await makeZip([
        { name: '[Content_Types].xml', data: '<Types/>' },
        { name: '_rels/.rels', data: '<Relationships/>' },
        { name: 'broken/hello', data: truncated },
      ]),
    );
    expect(analysis.keys).toEqual([]);
    expect(analysis.warnings).toHaveLength(1);
    expect(analysis.warnings[0]).toMatch(/^"broken\/hello" \(elf\) gives no keys: /);
  });

  describe('inline data', () => {
    const small = 'small file '.repeat(100);
    const mappings = [
      { clientKey: 'small.txt/abc/small.txt', blobPath: 'small.txt' },
      { clientKey: 'stored.txt/abc/stored.txt', blobPath: 'stored.txt' },
      { clientKey: 'big.bin/abc/big.bin', blobPath: 'big.bin' },
    ];
    const entries = [
      { name: 'symbol_index.json', data: symbolIndex(mappings) },
      { name: 'small.txt', data: small },
      { name: 'stored.txt', data: small, compress: false },
      { name: 'big.bin', data: Buffer.alloc(16 * 1024 + 1, 7), compress: false },
    ];

    it('holds the data of entries within the limit as the zip holds it, by data offset', async () => {
      const bytes = await makeZip(entries);
      const analysis = await analyse(bytes);
      const at = (entry: string) => analysis.keys.find((k) => k.location.entry === entry)!.location;
      const { dataOffset, compressedSize } = at('small.txt');
      expect(analysis.inline?.get(dataOffset)).toEqual(
        bytes.subarray(dataOffset, dataOffset + compressedSize),
      );
      expect(compressedSize).toBeLessThan(small.length);
      expect(analysis.inline?.get(at('stored.txt').dataOffset)?.toString()).toBe(small);
      expect(analysis.inline?.has(at('big.bin').dataOffset)).toBe(false);
      expect(analysis.inline?.size).toBe(2);
    });

    it('holds none when the limit is 0', async () => {
      const bytes = await makeZip(entries);
      const zip = await PackageZip.open(memoryReader(bytes), bytes.length, limits);
      try {
        const analysis = await analysePackage(zip, identity, { ...limits, inlineFileBytes: 0 });
        expect(analysis.inline?.size).toBe(0);
        expect(analysis.keys).toHaveLength(3);
      } finally {
        zip.close();
      }
    });

    it('skips, with an error, the key of a small entry whose bytes fail its CRC-32', async () => {
      const bytes = await makeZip(entries);
      const at = bytes.indexOf(Buffer.from(small));
      bytes.writeUInt8(bytes.readUInt8(at) ^ 1, at);
      const analysis = await analyse(bytes);
      expect(analysis.keys.map((k) => k.location.entry).sort()).toEqual(['big.bin', 'small.txt']);
      expect(analysis.errors).toEqual([
        expect.stringMatching(
          /^key "stored.txt\/abc\/stored.txt" is skipped: the file "stored.txt" is damaged: its CRC-32 is 0x[0-9a-f]{8}, not the 0x[0-9a-f]{8} its header declares$/,
        ),
      ]);
    });
  });
});
