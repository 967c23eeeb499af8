import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Deflated entries go to clients that take gzip as `Content-Encoding: gzip`, their raw deflate
 * bytes framed as a gzip member, never inflated; curl (Debian package curl, which .ci/run
 * installs) decodes them with --compressed and gets the file's exact bytes. Hot (in memory) and
 * cold (streamed) entries alike: the hot-file size is 64 KiB here.
 */
const run = promisify(execFile);
let stack: Stack;
const small = Buffer.from('small symbols '.repeat(1000));
const large = Buffer.concat([randomBytes(150_000), Buffer.alloc(150_000, 'symbols ')]);
const dir = mkdtempSync(path.join(tmpdir(), 'symfeed-gzip-'));

beforeAll(async () => {
  stack = await startStack({ SYMFEED_HOT_FILE_BYTES: '65536' });
  await stack.upload(
    'gz.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([
          { clientKey: 'small/1/small', blobPath: 'small.bin' },
          { clientKey: 'large/1/large', blobPath: 'large.bin' },
          { clientKey: 'stored/1/stored', blobPath: 'stored.bin' },
          { clientKey: 'empty/1/empty', blobPath: 'empty.bin' },
        ]),
      },
      { name: 'small.bin', data: small, compress: true },
      { name: 'large.bin', data: large, compress: true },
      { name: 'stored.bin', data: large, compress: false },
      { name: 'empty.bin', data: Buffer.alloc(0), compress: true },
    ]),
  );
  expect((await stack.indexed('gz.zip')).state).toBe('succeeded');
});
afterAll(() => stack?.stop());

/** curl's answer: its status line and headers (lower-cased names), and the bytes it wrote. */
async function curl(key: string, ...args: string[]) {
  const out = path.join(dir, `${key.replace(/\//g, '_')}-${Math.random()}`);
  const headersFile = `${out}.headers`;
  await run('curl', ['-sS', '-D', headersFile, '-o', out, ...args, `${stack.symbols}/${key}`]);
  const headers: Record<string, string> = {};
  for (const line of readFileSync(headersFile, 'latin1').split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: readFileSync(out) };
}

/** A request with exactly the headers given (fetch would add Accept-Encoding and decode). */
function raw(key: string, headers: Record<string, string>, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>(
    (resolve, reject) => {
      const req = request(`${stack.symbols}/${key}`, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers as Record<string, string>,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    },
  );
}

it.each([
  ['small/1/small', small],
  ['large/1/large', large],
  ['empty/1/empty', Buffer.alloc(0)],
])('gives curl --compressed the exact bytes of %s, sent as gzip', async (key, data) => {
  for (const pass of ['cold', 'hot']) {
    const answer = await curl(key, '--compressed');
    expect([pass, answer.headers['content-encoding']]).toEqual([pass, 'gzip']);
    expect(answer.headers['vary']).toBe('Accept-Encoding');
    expect(answer.headers['accept-ranges']).toBe('none');
    expect(answer.body.equals(data)).toBe(true);
  }
});

it.each([
  ['small/1/small', small],
  ['large/1/large', large],
])('gives a client that does not ask for gzip identity bytes of %s', async (key, data) => {
  const answer = await curl(key);
  expect(answer.headers['content-encoding']).toBeUndefined();
  expect(answer.headers['vary']).toBe('Accept-Encoding');
  expect(answer.headers['content-length']).toBe(String(data.length));
  expect(answer.body.equals(data)).toBe(true);
  const refused = await raw(key, { 'Accept-Encoding': 'gzip;q=0, *' });
  expect(refused.headers['content-encoding']).toBeUndefined();
  expect(refused.body.equals(data)).toBe(true);
});

it('frames the entry as one gzip member of its compressed size plus 18 bytes', async () => {
  const answer = await raw('large/1/large', { 'Accept-Encoding': '*' });
  expect(answer.headers['content-encoding']).toBe('gzip');
  expect(answer.headers['content-length']).toBe(String(answer.body.length));
  expect(answer.body.length).toBeLessThan(large.length);
  expect(answer.body.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
  expect(gunzipSync(answer.body).equals(large)).toBe(true);
});

it('gives each form its own ETag, matched per form, and the same headers to HEAD', async () => {
  const gzip = await raw('large/1/large', { 'Accept-Encoding': 'gzip' });
  const identity = await raw('large/1/large', {});
  expect(gzip.headers.etag).toMatch(/^"[^"]+"$/);
  expect(gzip.headers.etag).not.toBe(identity.headers.etag);
  const revalidate = (accept: Record<string, string>, etag: string) =>
    raw('large/1/large', { ...accept, 'If-None-Match': etag });
  expect((await revalidate({ 'Accept-Encoding': 'gzip' }, gzip.headers.etag!)).status).toBe(304);
  expect((await revalidate({}, identity.headers.etag!)).status).toBe(304);
  expect((await revalidate({}, gzip.headers.etag!)).status).toBe(200);
  expect((await revalidate({ 'Accept-Encoding': 'gzip' }, identity.headers.etag!)).status).toBe(
    200,
  );
  const head = await raw('large/1/large', { 'Accept-Encoding': 'gzip' }, 'HEAD');
  expect(head.body.length).toBe(0);
  for (const name of ['content-encoding', 'content-length', 'etag', 'vary', 'accept-ranges']) {
    expect([name, head.headers[name]]).toEqual([name, gzip.headers[name]]);
  }
});

it('sends the gzip form whole whatever Range asks', async () => {
  const answer = await raw('large/1/large', { 'Accept-Encoding': 'gzip', Range: 'bytes=0-9' });
  expect(answer.status).toBe(200);
  expect(answer.headers['content-range']).toBeUndefined();
  expect(gunzipSync(answer.body).equals(large)).toBe(true);
});

it('never gzips a stored entry, and keeps its ranges', async () => {
  const whole = await raw('stored/1/stored', { 'Accept-Encoding': 'gzip' });
  expect(whole.headers['content-encoding']).toBeUndefined();
  expect(whole.headers.vary).toBeUndefined();
  expect(whole.body.equals(large)).toBe(true);
  const part = await raw('stored/1/stored', { 'Accept-Encoding': 'gzip', Range: 'bytes=10-19' });
  expect([part.status, part.body.equals(large.subarray(10, 20))]).toEqual([206, true]);
});
