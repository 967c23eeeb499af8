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
});
