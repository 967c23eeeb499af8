import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Each whole identity answer is checked against the CRC-32 the package's central directory
 * declares. Packages here have one byte of an entry's data changed after zipping, the central
 * directory left as it was: a streamed (cold) answer breaks off rather than ending cleanly, a hot
 * one is refused with 500 before anything is sent, both log the package and the entry, and
 * neither counts as a served hit. The hot-file size is 64 KiB here: 40 KB entries are hot, 300 KB
 * ones stream. Random bytes stay random inside the deflate stream (zlib stores them), so changing
 * one changes one byte of what inflates, not its length.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ SYMFEED_HOT_FILE_BYTES: '65536' });
});
afterAll(() => stack?.stop());

/** A package holding `data` as `name`, with one byte of the entry's data flipped in the zip. */
async function damagedPackage(name: string, data: Buffer, compress: boolean) {
  const zip = await makeZip([
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: name, blobPath: 'f.bin' }]) },
    { name: 'f.bin', data, compress },
  ]);
  const middle = Math.floor(data.length / 2);
  const at = zip.indexOf(data.subarray(middle, middle + 64));
  if (at < 0) throw new Error('the entry data is not in the zip as it is');
  zip[at] = zip[at]! ^ 0xff;
  await stack.upload(`${name}.zip`, zip);
  expect((await stack.indexed(`${name}.zip`)).state).toBe('succeeded');
}

/** A GET as a client with exactly these headers: how it ended, and what came before. */
function get(key: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; ended: 'clean' | 'aborted'; body: Buffer }>((resolve) => {
    const req = request(`${stack.symbols}/${key}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const done = (ended: 'clean' | 'aborted') =>
        resolve({ status: res.statusCode ?? 0, ended, body: Buffer.concat(chunks) });
      res.on('end', () => done(res.complete ? 'clean' : 'aborted'));
      res.on('aborted', () => done('aborted'));
      res.on('error', () => done('aborted'));
    });
    req.on('error', () => resolve({ status: 0, ended: 'aborted', body: Buffer.alloc(0) }));
    req.end();
  });
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${stack.host.url}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (line) => line.startsWith(`${name}{`) && labels.split(',').every((l) => line.includes(l)),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

it.each([
  ['stored', false],
  ['deflated', true],
])('breaks off a streamed %s entry whose bytes are not its CRC-32', async (kind, compress) => {
  const key = `cold-${kind}`;
  await damagedPackage(key, randomBytes(300_000), compress);
  const bytesBefore = await metric('symfeed_symbol_bytes_total', 'feed="default"');
  const errorsBefore = await metric('symfeed_symbol_requests_total', 'outcome="error"');
  for (let pass = 0; pass < 2; pass++) {
    const answer = await get(key);
    expect([answer.status, answer.ended]).toEqual([200, 'aborted']);
    expect(answer.body.length).toBeLessThan(300_000);
  }
  expect(stack.logs.join('\n')).toContain(
    `the file \\"f.bin\\" is damaged inside package \\"default/${key}.zip\\": its CRC-32 is`,
  );
  expect(await metric('symfeed_symbol_bytes_total', 'feed="default"')).toBe(bytesBefore);
  expect(await metric('symfeed_symbol_requests_total', 'outcome="error"')).toBe(errorsBefore + 2);
});

it.each([
  ['stored', false],
  ['deflated', true],
])('refuses a hot %s entry whose bytes are not its CRC-32', async (kind, compress) => {
  const key = `hot-${kind}`;
  await damagedPackage(key, randomBytes(40_000), compress);
  for (let pass = 0; pass < 2; pass++) {
    const answer = await get(key);
    expect(answer.status).toBe(500);
    expect(answer.body.toString()).toContain(
      `"f.bin" is damaged inside package "default/${key}.zip"`,
    );
    expect(answer.body.toString()).toContain('its CRC-32 is');
  }
});

it('leaves the check of the gzip form to the client, whose gunzip finds the damage', async () => {
  await damagedPackage('gzip-damaged', randomBytes(300_000), true);
  const answer = await get('gzip-damaged', { 'Accept-Encoding': 'gzip' });
  expect([answer.status, answer.ended]).toEqual([200, 'clean']);
  expect(() => gunzipSync(answer.body)).toThrow(/incorrect data check/);
});

it('serves an undamaged entry whole, streamed and hot', async () => {
  const data = randomBytes(300_000);
  const small = randomBytes(40_000);
  await stack.upload(
    'fine.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([
          { clientKey: 'fine-large', blobPath: 'large.bin' },
          { clientKey: 'fine-small', blobPath: 'small.bin' },
        ]),
      },
      { name: 'large.bin', data, compress: true },
      { name: 'small.bin', data: small, compress: false },
    ]),
  );
  await stack.indexed('fine.zip');
  const large = await get('fine-large');
  expect([large.status, large.ended, large.body.equals(data)]).toEqual([200, 'clean', true]);
  const hot = await get('fine-small');
  expect([hot.status, hot.ended, hot.body.equals(small)]).toEqual([200, 'clean', true]);
});
