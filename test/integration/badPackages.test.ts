import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StatusDocument } from '../../shared/packages/statusDocument';
import { deflateRawSync } from 'node:zlib';
import { writeKeyRows } from '../../shared/index/keyTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { MiB, peakRss, resetPeakRss } from '../support/memory';
import { makeZip, patchEntryHeaders, renameEntries, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Every kind of bad package gets a clear reason in its status document, costs no other package
 * anything, and never crashes or hangs the indexer.
 */
let stack: Stack;
const good = Buffer.from('a good file that must stay served\n');

beforeAll(async () => {
  stack = await startStack({
    SYMFEED_MAX_ENTRIES: '50',
    SYMFEED_MAX_ENTRY_BYTES: String(4 * 1024 * 1024),
    SYMFEED_MAX_COMPRESSION_RATIO: '100',
  });
  await stack.upload(
    'good.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([{ clientKey: 'good/1/good', blobPath: 'good.txt' }]),
      },
      { name: 'good.txt', data: good },
    ]),
  );
  expect((await stack.indexed('good.zip')).state).toBe('succeeded');
});

afterAll(async () => {
  // The package uploaded first is still served after all the bad ones, and nothing failed hard.
  const response = await fetch(`${stack.symbols}/good/1/good`);
  expect(Buffer.from(await response.arrayBuffer())).toEqual(good);
  expect(stack.logs.filter((line) => /attempt \d+ failed/.test(line))).toEqual([]);
  await stack.stop();
});

async function index(name: string, bytes: Buffer): Promise<StatusDocument> {
  await stack.upload(name, bytes);
  return stack.indexed(name);
}

async function status(key: string): Promise<number> {
  return (await fetch(`${stack.symbols}/${key}`)).status;
}

const withIndex = (
  mappings: { clientKey: string; blobPath: string }[],
  files: Record<string, Buffer | string>,
) =>
  makeZip([
    { name: 'symbol_index.json', data: symbolIndex(mappings) },
    ...Object.entries(files).map(([name, data]) => ({ name, data })),
  ]);

describe('packages that are not readable zips are damaged', () => {
  it('not a zip', async () => {
    const doc = await index(
      'not-a-zip.zip',
      Buffer.from('PK? no, just text pretending to be a package'),
    );
    expect(doc.state).toBe('damaged');
    expect(doc.errors[0]).toMatch(/^not a readable zip: /);
    expect(doc.history.map((h) => h.state)).toEqual(['indexing', 'damaged']);
  });

  it('an empty blob', async () => {
    const doc = await index('zero-bytes.zip', Buffer.alloc(0));
    expect(doc.state).toBe('damaged');
    expect(doc.errors[0]).toMatch(/not a readable zip/);
  });

  it('a truncated zip', async () => {
    const bytes = await withIndex([{ clientKey: 'trunc', blobPath: 'a.txt' }], {
      'a.txt': randomBytes(10_000),
    });
    const doc = await index('truncated.zip', bytes.subarray(0, bytes.length - 40));
    expect(doc.state).toBe('damaged');
    expect(doc.errors[0]).toMatch(/not a readable zip|central directory is damaged/);
    expect(await status('trunc')).toBe(404);
  });

  it('a central directory pointing outside the blob', async () => {
    const bytes = Buffer.from(
      await withIndex([{ clientKey: 'outside', blobPath: 'a.txt' }], { 'a.txt': 'a' }),
    );
    const lastCentral = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(0x7fff_0000, lastCentral + 42);
    const doc = await index('outside.zip', bytes);
    expect(doc.state).toBe('damaged');
    expect(doc.errors[0]).toMatch(/beyond the end of the \d+-byte package/);
    expect(await status('outside')).toBe(404);
  });

  it('overlapping entries', async () => {
    const bytes = Buffer.from(
      await withIndex([{ clientKey: 'overlap', blobPath: 'b.txt' }], {
        'a.txt': randomBytes(1000),
        'b.txt': 'b',
      }),
    );
    const lastCentral = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(0, lastCentral + 42); // b.txt claims to start where symbol_index.json does
    const doc = await index('overlap.zip', bytes);
    expect(doc.state).toBe('damaged');
    expect(doc.errors[0]).toMatch(/overlap/);
    expect(await status('overlap')).toBe(404);
  });

  it('more entries than SYMFEED_MAX_ENTRIES', async () => {
    const files = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${i}.txt`, `${i}`]));
    const doc = await index(
      'too-many.zip',
      await withIndex([{ clientKey: 'many', blobPath: 'f1.txt' }], files),
    );
    expect(doc.state).toBe('damaged');
    expect(doc.errors).toEqual(['the package has 61 entries, over the limit of 50']);
  });
});

describe('a bad symbol_index.json damages the whole package', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"clientKey": ', /symbol_index.json is not valid JSON/],
    ['not an array', '{"clientKey":"k","blobPath":"a.txt"}', /must be an array/],
    ['wrong-typed fields', '[{"clientKey":"k","blobPath":7}]', /element 0.blobPath/],
    [
      'one key twice',
      '[{"clientKey":"dup-ok","blobPath":"a.txt"},{"clientKey":"twice","blobPath":"a.txt"},{"clientKey":"TWICE","blobPath":"b.txt"}]',
      /maps the key "TWICE" more than once/,
    ],
  ];
  it.each(cases)('%s', async (label, indexText, reason) => {
    const bytes = await makeZip([
      { name: 'symbol_index.json', data: indexText },
      { name: 'a.txt', data: 'a' },
      { name: 'b.txt', data: 'b' },
    ]);
    const doc = await index(`bad-index-${label.replace(/\W+/g, '-')}.zip`, bytes);
    expect(doc.state).toBe('damaged');
    expect(doc.errors).toHaveLength(1);
    expect(doc.errors[0]).toMatch(reason);
    expect(doc.keys).toEqual([]);
    expect(await status('dup-ok')).toBe(404);
    expect(await status('twice')).toBe(404);
  });
});

describe('a bad entry skips its keys and leaves the package partial', () => {
  it('a blobPath that does not exist', async () => {
    const doc = await index(
      'missing-blob.zip',
      await withIndex(
        [
          { clientKey: 'present', blobPath: 'here.txt' },
          { clientKey: 'absent', blobPath: 'not/here.txt' },
          { clientKey: 'a-folder', blobPath: 'dir/' },
        ],
        { 'here.txt': 'here', 'dir/inner.txt': 'inner' },
      ),
    );
    expect(doc.state).toBe('partial');
    expect(doc.errors).toEqual([
      'key "absent" is skipped: its blobPath "not/here.txt" is not a file in the package',
      'key "a-folder" is skipped: its blobPath "dir/" is not a file in the package',
    ]);
    expect(await status('present')).toBe(200);
    expect(await status('absent')).toBe(404);
  });

  it('a key no client can ask for', async () => {
    const doc = await index(
      'bad-key.zip',
      await withIndex(
        [
          { clientKey: 'bad\\key', blobPath: 'a.txt' },
          { clientKey: 'fine-key', blobPath: 'a.txt' },
        ],
        { 'a.txt': 'a' },
      ),
    );
    expect(doc.state).toBe('partial');
    expect(doc.errors).toEqual(['key "bad\\key" is skipped: the key contains a backslash']);
    expect(await status('fine-key')).toBe(200);
  });

  it('an entry whose name is too long for the key index (33,000 characters)', async () => {
    // A table property holds 32K characters, and the location of an entry holds its name.
    const longName = `${'n'.repeat(33_000)}.txt`;
    const doc = await index(
      'long-name.zip',
      await withIndex(
        [
          { clientKey: 'long-name', blobPath: longName },
          { clientKey: 'short-name', blobPath: 'a.txt' },
        ],
        { [longName]: 'long', 'a.txt': 'a' },
      ),
    );
    expect(doc.state).toBe('partial');
    expect(doc.errors).toEqual([
      `key "long-name" is skipped: entry "${'n'.repeat(60)}..." has a name of 33,004 characters, over the limit of 4,096`,
    ]);
    expect(await status('short-name')).toBe(200);
    expect(await status('long-name')).toBe(404);
  });

  const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/zips', name));

  it('an encrypted entry (Info-ZIP zip -P)', async () => {
    const doc = await index('encrypted.zip', fixture('encrypted.zip'));
    expect(doc.state).toBe('partial');
    expect(doc.errors).toEqual([
      'key "secret.pdb/1/secret.pdb" is skipped: entry "secret.pdb" is encrypted',
    ]);
    expect(await status('secret.pdb/1/secret.pdb')).toBe(404);
  });

  it('an unsupported compression method (Info-ZIP zip -Z bzip2)', async () => {
    const doc = await index('bzip2.zip', fixture('bzip2.zip'));
    expect(doc.state).toBe('partial');
    expect(doc.errors[0]).toMatch(/entry "data.pdb" uses compression method 12/);
  });

  it('an entry over SYMFEED_MAX_ENTRY_BYTES', async () => {
    const doc = await index(
      'too-big.zip',
      await makeZip([
        {
          name: 'symbol_index.json',
          data: symbolIndex([{ clientKey: 'big', blobPath: 'big.bin' }]),
        },
        { name: 'big.bin', data: randomBytes(5 * 1024 * 1024), compress: false },
      ]),
    );
    expect(doc.state).toBe('partial');
    expect(doc.errors).toEqual([
      `key "big" is skipped: entry "big.bin" is ${5 * 1024 * 1024} bytes, over the limit of ${4 * 1024 * 1024}`,
    ]);
  });

  it('a deflated entry of 96 bytes that declares 200 KB of compressed data', async () => {
    // Its data really is 200 KB long: the deflate stream of its 96 bytes, then junk.
    const data = Buffer.concat([deflateRawSync(Buffer.alloc(96, 'x')), randomBytes(200_000)]);
    const bytes = patchEntryHeaders(
      await makeZip([
        {
          name: 'symbol_index.json',
          data: symbolIndex([{ clientKey: 'liar', blobPath: 'tiny.pdb' }]),
        },
        { name: 'tiny.pdb', data, compress: false },
      ]),
      'tiny.pdb',
      { method: 8, size: 96 },
    );
    const doc = await index('compressed-size-lie.zip', bytes);
    expect(doc.state).toBe('partial');
    expect(doc.errors).toEqual([
      `key "liar" is skipped: entry "tiny.pdb" declares ${data.length} compressed bytes for 96 bytes of data, more than deflate ever takes (at most 1216 here)`,
    ]);
    expect(await status('liar')).toBe(404);
  });

  it('a zip bomb entry over SYMFEED_MAX_COMPRESSION_RATIO', async () => {
    const doc = await index(
      'bomb.zip',
      await withIndex([{ clientKey: 'bomb', blobPath: 'zeros.bin' }], {
        'zeros.bin': Buffer.alloc(3 * 1024 * 1024),
      }),
    );
    expect(doc.state).toBe('partial');
    expect(doc.errors[0]).toMatch(
      /entry "zeros.bin" expands \d+ bytes into 3145728, over the compression ratio limit of 100/,
    );
    expect(await status('bomb')).toBe(404);
  });
});

describe('entries whose bytes are broken', () => {
  it('answers a deflated entry that does not inflate with 500 naming the file and the package', async () => {
    const bytes = Buffer.from(
      // Over the inline limit (16 KiB): a smaller one is checked at index time, and its key skipped.
      await withIndex([{ clientKey: 'broken-deflate', blobPath: 'd.txt' }], {
        'd.txt': 'compressible text '.repeat(1000),
      }),
    );
    // Overwrite the start of d.txt's deflate stream with a reserved block type.
    // The first "d.txt" is its local header's name, which follows the 30-byte fixed part.
    const header = bytes.indexOf('d.txt') - 30;
    expect(bytes.readUInt32LE(header)).toBe(0x04034b50);
    const dataStart =
      header + 30 + bytes.readUInt16LE(header + 26) + bytes.readUInt16LE(header + 28);
    bytes[dataStart] = 0xff;
    const doc = await index('broken-deflate.zip', bytes);
    expect(doc.state).toBe('succeeded');
    expect(doc.warnings.join('\n')).toMatch(/"d\.txt" gives no keys: the entry does not inflate/);
    // Its gzip form goes out unread, and the client's gunzip refuses it (gzip.test, servedCrc.test).
    const response = await fetch(`${stack.symbols}/broken-deflate`, {
      headers: { 'Accept-Encoding': 'identity' },
    });
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(
      /The file "d\.txt" is damaged inside package "default\/broken-deflate\.zip": it does not inflate/,
    );
  });
});

describe('rows written before compressed sizes were checked', () => {
  it('reads nothing of a 96-byte entry declaring 64 MiB compressed, however many ask at once', async () => {
    // Earlier versions indexed such an entry; its key row outlives the upgrade. The blob really
    // holds the 64 MiB: the deflate stream of the 96 bytes, then zeros.
    const name = 'legacy-liar.bin';
    const declared = 64 * MiB;
    const blobBytes = Buffer.alloc(declared + 4096);
    deflateRawSync(Buffer.alloc(96, 'x')).copy(blobBytes);
    const blob = stack.rt.storage.packagesContainer.getBlockBlobClient(`default/${name}`);
    await blob.uploadData(blobBytes);
    const packageUid = packageUidFor('default', name);
    const location = {
      packageUid,
      blob: `default/${name}`,
      blobEtag: (await blob.getProperties()).etag ?? '',
      entry: 'tiny.pdb',
      dataOffset: 0,
      compressedSize: declared,
      size: 96,
      method: 8,
      crc32: 0,
    };
    await writeKeyRows(
      stack.rt.storage.symbolKeysTable,
      { feed: 'default', packageUid, firstIndexedAt: Date.now() },
      [{ key: 'legacy-liar', clientKey: 'legacy-liar', source: 'explicit', location }],
    );
    const before = resetPeakRss();
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const response = await fetch(`${stack.symbols}/legacy-liar`);
        return { status: response.status, text: await response.text() };
      }),
    );
    expect(Math.round((peakRss() - before) / MiB)).toBeLessThan(32);
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 500,
        text: `The file "tiny.pdb" is damaged inside package "default/${name}": it declares ${declared} compressed bytes for 96 bytes of data, more than deflate ever takes (at most 1216 here).\n`,
      });
    }
  });
});

describe('names are data, never paths', () => {
  it('serves entries named ../x, /x and x\\y by their exact mapping, from inside the zip', async () => {
    const bytes = renameEntries(
      await withIndex(
        [
          { clientKey: 'dotdot', blobPath: '../../etc/passwd' },
          { clientKey: 'rooted', blobPath: '/etc/hostname' },
          { clientKey: 'backslashed', blobPath: 'win/style.pdb' },
        ],
        {
          'up/up/etc/passwd': 'not the real passwd',
          'xetc/hostname': 'not the host',
          'win_style.pdb': 'pdb',
        },
      ),
      // The index text is stored deflated, so only the entry names are rewritten here.
      {
        'up/up/etc/passwd': '../../etc/passwd',
        'xetc/hostname': '/etc/hostname',
        'win_style.pdb': 'win\\style.pdb',
      },
    );
    const doc = await index('hostile-names.zip', bytes);
    expect(doc.state).toBe('succeeded');
    expect(await (await fetch(`${stack.symbols}/dotdot`)).text()).toBe('not the real passwd');
    expect(await (await fetch(`${stack.symbols}/rooted`)).text()).toBe('not the host');
    expect(await (await fetch(`${stack.symbols}/backslashed`)).text()).toBe('pdb');
  });
});

describe('packages with nothing to offer succeed', () => {
  it('an empty zip', async () => {
    const doc = await index('empty.zip', await makeZip([]));
    expect(doc.state).toBe('succeeded');
    expect(doc.warnings).toEqual(['the package holds no files, so it offers no keys']);
  });

  it('a zip without symbol_index.json whose files are of no known format', async () => {
    const doc = await index('no-index.zip', await makeZip([{ name: 'lib/foo.dll', data: 'MZ' }]));
    expect(doc.state).toBe('succeeded');
    expect(doc.keys).toEqual([]);
    expect(doc.warnings).toEqual([]);
  });
});
