import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/** The example package of Package_Based_Symbol_Server.md: nested containers, two keys for one blob. */
const specIndex = [
  { clientKey: '12387532', blobPath: 'debug_info.txt' },
  { clientKey: 'MyProgram.exe/09safnf82asddasdqwd998vds/MyProgram.exe', blobPath: 'MyProgram.exe' },
  { clientKey: '12-09', blobPath: 'Content/localized/en-us/data.xml' },
  { clientKey: '312&312-123*&^ndw', blobPath: 'Content/localized/en-us/data.xml' },
];
const files: Record<string, Buffer> = {
  'debug_info.txt': Buffer.from('debug info\n'.repeat(100)),
  'MyProgram.exe': Buffer.concat([Buffer.from('MZ'), Buffer.alloc(5000, 7)]),
  'Content/localized/en-us/data.xml': Buffer.from('<data>héllo</data>\n'.repeat(30)),
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  const zip = await makeZip([
    { name: 'symbol_index.json', data: symbolIndex(specIndex) },
    { name: 'debug_info.txt', data: files['debug_info.txt']!, compress: true },
    { name: 'MyProgram.exe', data: files['MyProgram.exe']!, compress: false },
    { name: 'Content/localized/en-us/data.xml', data: files['Content/localized/en-us/data.xml']! },
  ]);
  await stack.upload('spec-example.zip', zip);
  const doc = await stack.indexed('spec-example.zip');
  expect(doc.state).toBe('succeeded');
});

afterAll(() => stack?.stop());

const url = (key: string) => `${stack.symbols}/${key}`;
/** As dotnet-symbol and PerfView ask, for the identity bytes: fetch alone would ask for gzip. */
const identity = { headers: { 'Accept-Encoding': 'identity' } };
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

describe('serving the spec example package', () => {
  it.each(specIndex.map((m) => [m.clientKey, m.blobPath]))(
    'serves %s byte for byte',
    async (key, blobPath) => {
      const expected = files[blobPath]!;
      for (const variant of [key, key.toLowerCase(), key.toUpperCase()]) {
        const response = await fetch(url(encodeKey(variant)), identity);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/octet-stream');
        expect(response.headers.get('content-length')).toBe(String(expected.length));
        expect(response.headers.get('x-symfeed-package')).toBe('default%2Fspec-example.zip');
        expect(Buffer.from(await response.arrayBuffer())).toEqual(expected);
      }
    },
  );

  it('answers HEAD with the length and no body', async () => {
    const response = await fetch(url('12387532'), { ...identity, method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(files['debug_info.txt']!.length));
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('decodes %2F in a key once', async () => {
    const response = await fetch(url('MyProgram.exe%2F09safnf82asddasdqwd998vds%2FMyProgram.exe'));
    expect(response.status).toBe(200);
  });

  it('gives a strong ETag and 304 for If-None-Match', async () => {
    const first = await fetch(url('12-09'));
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.headers.get('cache-control')).toBe('public, no-cache');
    const again = await fetch(url('312%26312-123*%26%5Endw'), {
      headers: { 'If-None-Match': etag! },
    });
    expect(again.status).toBe(304);
  });

  it('serves byte ranges of stored entries with 206', async () => {
    const exe = files['MyProgram.exe']!;
    const key = url('myprogram.exe/09safnf82asddasdqwd998vds/myprogram.exe');
    const partial = await fetch(key, { headers: { Range: 'bytes=1-100' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 1-100/${exe.length}`);
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(exe.subarray(1, 101));
    const tail = await fetch(key, { headers: { Range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(exe.subarray(exe.length - 10));
    const outside = await fetch(key, { headers: { Range: `bytes=${exe.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${exe.length}`);
  });

  it('serves deflated entries whole, even when a range is asked for', async () => {
    const response = await fetch(url('12387532'), { headers: { Range: 'bytes=0-3' } });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(files['debug_info.txt']);
  });
});

describe('misses and bad requests', () => {
  it.each([
    'index2.txt',
    'foo.pd_/497b72f6390a44fc878e5a2d63b6cc4b1/foo.pd_',
    'file.ptr',
    'foo.pdb/abc/foo.pdb',
  ])('answers the SymSrv probe %s with 404', async (key) => {
    const response = await fetch(url(key));
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/No file with key/);
  });

  it.each([
    ['with a backslash', 'a%5Cb', /backslash/],
    ['with a NUL', 'a%00b', /control character/],
    ['with a broken escape', 'a%zzb', /percent-encoded/],
    ['of 1,100 characters', 'x'.repeat(1100), /limit is 1024/],
  ])('refuses a key %s with 400', async (_label, key, reason) => {
    const response = await fetch(url(key));
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(reason);
  });

  it('answers an unknown feed with 404', async () => {
    for (const feed of ['nosuchfeed', 'Bad_Name']) {
      const response = await fetch(`${stack.host.url}/F/${feed}/symbols/12387532`);
      expect(response.status).toBe(404);
      expect(await response.text()).toMatch(/does not exist/);
    }
  });

  it('refuses methods other than GET and HEAD', async () => {
    // The method is part of the route: the Functions host answers 404 (no route), not 405.
    const response = await fetch(url('12387532'), { method: 'DELETE' });
    expect(response.status).toBe(404);
  });
});

describe('health', () => {
  it('is 200 while storage answers and 503 when it does not', async () => {
    expect((await fetch(`${stack.host.url}/health`)).status).toBe(200);
    await stack.azurite.stop();
    const response = await fetch(`${stack.host.url}/health`);
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/storage is unreachable/);
  });

  it('answers a symbol request with 503 while storage is down', async () => {
    const started = Date.now();
    const response = await fetch(url('a-key-never-asked-for'));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.text()).toMatch(/storage is unavailable/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
