import { randomBytes } from 'node:crypto';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  BlobServiceClient,
} from '@azure/storage-blob';
import { readRange } from '../../shared/serve/blobRange';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Entries over SYMFEED_HOT_FILE_BYTES are streamed from one ranged read of their package: byte
 * for byte, stored or deflated, never from a replaced blob, and a deflated entry whose bytes do
 * not inflate to the size its headers declare breaks the response instead of ending it short.
 */
let stack: Stack;
const SIZE = 300_000;
// Half-compressible, so that the deflated copy is a real deflate stream of some length.
const content = Buffer.concat([randomBytes(SIZE / 2), Buffer.alloc(SIZE / 2, 'symbols ')]);

beforeAll(async () => {
  // 64 KiB: these entries must stream rather than be held in memory.
  stack = await startStack({ SYMFEED_HOT_FILE_BYTES: '65536' });
  await stack.upload(
    'large.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([
          { clientKey: 'stored/1/stored', blobPath: 'stored.bin' },
          { clientKey: 'deflated/1/deflated', blobPath: 'deflated.bin' },
        ]),
      },
      { name: 'stored.bin', data: content, compress: false },
      { name: 'deflated.bin', data: content, compress: true },
    ]),
  );
  expect((await stack.indexed('large.zip')).state).toBe('succeeded');
});
afterAll(() => stack?.stop());

/** The identity form (gzip.test covers the other): fetch alone would ask for gzip. */
const get = (key: string, headers: Record<string, string> = {}) =>
  fetch(`${stack.symbols}/${key}`, { headers: { 'Accept-Encoding': 'identity', ...headers } });

it.each(['stored/1/stored', 'deflated/1/deflated'])('streams %s byte for byte', async (key) => {
  const response = await get(key);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-length')).toBe(String(SIZE));
  expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
});

it('streams a range of a stored entry', async () => {
  const response = await get('stored/1/stored', { Range: 'bytes=1000-250999' });
  expect(response.status).toBe(206);
  expect(response.headers.get('content-range')).toBe(`bytes 1000-250999/${SIZE}`);
  expect(Buffer.from(await response.arrayBuffer()).equals(content.subarray(1000, 251000))).toBe(
    true,
  );
});

/** The declared uncompressed size of `name`, patched in its local and central headers. */
function declareSize(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let at = out.indexOf(name); at >= 0; at = out.indexOf(name, at + 1)) {
    if (out.readUInt32LE(at - 30) === 0x04034b50) out.writeUInt32LE(size, at - 30 + 22);
    else if (out.readUInt32LE(at - 46) === 0x02014b50) out.writeUInt32LE(size, at - 46 + 24);
  }
  return out;
}

it.each([
  ['more', SIZE - 1],
  ['less', SIZE + 1],
])('breaks the response of a deflated entry that inflates to %s than declared', async (_, size) => {
  const name = `lying-${size}`;
  const zip = await makeZip([
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: name, blobPath: 'lie.bin' }]) },
    { name: 'lie.bin', data: content, compress: true },
  ]);
  await stack.upload(`${name}.zip`, declareSize(zip, 'lie.bin', size));
  expect((await stack.indexed(`${name}.zip`)).state).toBe('succeeded');
  const response = await get(name);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-length')).toBe(String(size));
  await expect(response.arrayBuffer()).rejects.toThrow();
});

it('never serves the bytes of a replaced package', async () => {
  const pkg = (data: Buffer) =>
    makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([{ clientKey: 'moving', blobPath: 'm.bin' }]),
      },
      { name: 'm.bin', data, compress: false },
    ]);
  const [before, after] = [randomBytes(200_000), randomBytes(200_000)];
  await stack.upload('moving.zip', await pkg(before));
  await stack.indexed('moving.zip');
  expect(Buffer.from(await (await get('moving')).arrayBuffer()).equals(before)).toBe(true);
  await stack.upload('moving.zip', await pkg(after));
  // Until the new version is indexed, the remembered location's read finds another ETag.
  const racing = await get('moving');
  if (racing.status === 200) {
    expect(Buffer.from(await racing.arrayBuffer()).equals(after)).toBe(true);
  } else {
    expect([racing.status, await racing.text()]).toEqual([
      503,
      'The package holding this file is changing; retry shortly.\n',
    ]);
  }
  await stack.indexed('moving.zip');
  expect(Buffer.from(await (await get('moving')).arrayBuffer()).equals(after)).toBe(true);
});

it('reads with the SAS of a connection string that has no account key', async () => {
  const sas = stack.rt.storage.blobs
    .generateAccountSasUrl(
      new Date(Date.now() + 3_600_000),
      AccountSASPermissions.parse('r'),
      AccountSASResourceTypes.parse('o').toString(),
    )
    .split('?')[1];
  const endpoint = stack.rt.storage.blobs.url.replace(/\/$/, '');
  const client = BlobServiceClient.fromConnectionString(
    `BlobEndpoint=${endpoint};SharedAccessSignature=${sas}`,
  )
    .getContainerClient('packages')
    .getBlobClient('default/large.zip');
  const { etag } = await stack.rt.storage.packagesContainer
    .getBlobClient('default/large.zip')
    .getProperties();
  const read = await readRange(client, 0, 4, etag as string);
  if ('stale' in read) throw new Error('stale');
  const chunks: Buffer[] = [];
  for await (const chunk of read.body) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).readUInt32LE(0)).toBe(0x04034b50);
});
