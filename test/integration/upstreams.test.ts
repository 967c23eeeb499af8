import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createToken } from '../../shared/feeds/tokens';
import { Upstream } from '../../shared/feeds/feedTable';
import { storeUpstreamFile, upstreamPackageName } from '../../shared/upstream/storeUpstream';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { FIXTURES } from '../support/fixtureKeys';
import { makeZip, symbolIndex } from '../support/zips';
import { freePort, startStack, Stack } from '../support/stack';

/**
 * Upstreams on loopback: a SymSrv folder (`file/index/file`) behind node's http server as an SSQP
 * upstream, with misbehaving paths beside it, and elfutils' debuginfod (Debian package
 * debuginfod) serving a folder of ELF files as a debuginfod upstream.
 */
const TIMEOUT_MS = 800;
const MAX_BYTES = 1024 * 1024;
const elf = (name: string) => readFileSync(path.join(FIXTURES, 'elf', name));
const keys = JSON.parse(
  readFileSync(path.join(FIXTURES, 'elf/expected-keys.json'), 'utf8'),
) as Record<string, { identity: string[] }>;
const buildIdOf = (name: string) => keys[name]!.identity[0]!;

interface Seen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A SymSrv folder served as files; the first path segment chooses how the server behaves. */
class SymSrv {
  readonly seen: Seen[] = [];
  private readonly files = new Map<string, Buffer>();
  private server: Server;
  url = '';
  /** Where /redirect/... sends its clients. */
  redirectTo = '';

  constructor() {
    this.server = createServer((request, response) => {
      this.seen.push({ url: request.url ?? '', headers: request.headers });
      const [, mode = '', ...rest] = (request.url ?? '').split('/');
      const key = decodeURIComponent(rest.join('/'));
      const file = this.files.get(key);
      if (mode === 'hang') return;
      if (mode === 'fail') return void response.writeHead(503).end('busy');
      if (mode === 'redirect') {
        return void response
          .writeHead(302, { Location: `${this.redirectTo}/store/${rest.join('/')}` })
          .end();
      }
      if (mode === 'big') {
        // Chunked: the length shows only as the bytes come.
        response.writeHead(200);
        for (let i = 0; i < 3; i++) response.write(Buffer.alloc(MAX_BYTES / 2, i));
        return void response.end();
      }
      if (mode === 'bigdeclared') {
        response.writeHead(200, { 'Content-Length': String(MAX_BYTES + 1) });
        return void response.end(Buffer.alloc(MAX_BYTES + 1));
      }
      if (!file) return void response.writeHead(404).end();
      if (mode === 'die') {
        response.writeHead(200, { 'Content-Length': String(file.length) });
        response.write(file.subarray(0, file.length >> 1));
        return void setTimeout(() => response.socket?.destroy(), 50);
      }
      if (mode === 'slow') {
        response.writeHead(200, { 'Content-Length': String(file.length) });
        let at = 0;
        const step = Math.ceil(file.length / 5);
        const next = () => {
          if (at >= file.length) return void response.end();
          response.write(file.subarray(at, (at += step)));
          setTimeout(next, 60);
        };
        return next();
      }
      if (mode !== 'store') return void response.writeHead(404).end();
      response.writeHead(200, { 'Content-Length': String(file.length) }).end(file);
    });
  }

  add(key: string, bytes: Buffer): Buffer {
    this.files.set(key, bytes);
    return bytes;
  }

  asked(pathPart: string): number {
    return this.seen.filter((seen) => seen.url.includes(pathPart)).length;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let stack: Stack;
let symsrv: SymSrv;
/** A second origin, for redirects that leave the upstream's. */
let elsewhere: SymSrv;
let debuginfod: ChildProcess | undefined;
let debuginfodUrl = '';
let feedCount = 0;

async function startDebuginfod(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'symfeed-upstream-debuginfod-'));
  const files = path.join(work, 'files');
  mkdirSync(files);
  for (const name of ['hello', 'hello.debug', 'libgreet.so', 'libgreet.so.debug']) {
    copyFileSync(path.join(FIXTURES, 'elf', name), path.join(files, name));
  }
  const port = await freePort();
  try {
    debuginfod = spawn(
      'debuginfod',
      ['-F', '-d', path.join(work, 'db.sqlite'), '-p', String(port), '-t', '0', '-g', '0', files],
      { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: work } },
    );
  } catch (error) {
    throw new Error('debuginfod is missing: install the Debian package debuginfod', {
      cause: error,
    });
  }
  debuginfod.on('error', () => undefined);
  debuginfodUrl = `http://127.0.0.1:${port}`;
  // debuginfod knows libgreet's 16-byte id as it is, not padded to 20 bytes as in SSQP keys.
  const probes = [buildIdOf('hello.debug'), buildIdOf('libgreet.so.debug').slice(0, 32)].map(
    (id) => `${debuginfodUrl}/buildid/${id}/debuginfo`,
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (debuginfod.exitCode !== null) throw new Error(`debuginfod exited (${debuginfod.exitCode})`);
    const statuses = await Promise.all(
      probes.map((probe) =>
        fetch(probe)
          .then(async (r) => (await r.arrayBuffer(), r.status))
          .catch(() => 0),
      ),
    );
    if (statuses.every((status) => status === 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('debuginfod (Debian package debuginfod) did not serve within 30 s');
}

beforeAll(async () => {
  stack = await startStack({
    SYMFEED_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
    SYMFEED_UPSTREAM_MAX_BYTES: String(MAX_BYTES),
  });
  symsrv = await new SymSrv().start();
  elsewhere = await new SymSrv().start();
  symsrv.redirectTo = elsewhere.url;
  await startDebuginfod();
}, 60_000);

afterAll(async () => {
  debuginfod?.kill();
  await symsrv?.stop();
  await elsewhere?.stop();
  await stack?.stop();
});

/** A feed of its own for each test, so that what one stores does not answer another's keys. */
async function feedWith(upstreams: Upstream[], visibility: 'public' | 'private' = 'public') {
  const name = `up${++feedCount}`;
  await stack.rt.feeds.create({ name, visibility, upstreams });
  return name;
}

const ssqp = (mode: string, headers?: Record<string, string>): Upstream => ({
  kind: 'ssqp',
  url: `${symsrv.url}/${mode}`,
  ...(headers ? { headers } : {}),
});

function newKey(name = 'file.pdb'): string {
  return `${name}/${randomBytes(16).toString('hex').toUpperCase()}1/${name}`;
}

async function get(feed: string, key: string, init: RequestInit = {}) {
  const started = performance.now();
  const response = await fetch(`${stack.host.url}/F/${feed}/symbols/${key}`, init);
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    body,
    headers: response.headers,
    ms: performance.now() - started,
  };
}

/** Compared by digest: jest compares buffers a byte at a time, seconds for a few hundred KB. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  expect({ length: actual.length, digest: digest(actual) }).toEqual({
    length: expected.length,
    digest: digest(expected),
  });
}

async function storedBlobs(feed: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of stack.rt.storage.packagesContainer.listBlobsFlat({
    prefix: `${feed}/`,
  })) {
    names.push(blob.name);
  }
  return names;
}

it('fetches a file from an SSQP upstream, stores it as a package of its own and serves it from there', async () => {
  const feed = await feedWith([ssqp('store')]);
  const key = newKey();
  const bytes = symsrv.add(key, randomBytes(300_000));
  const first = await get(feed, key);
  expect(first.status).toBe(200);
  expectBytes(first.body, bytes);
  const doc = await stack.indexed(upstreamPackageName(key.toLowerCase()), feed);
  expect(doc).toMatchObject({
    state: 'succeeded',
    owner: `upstream:${symsrv.url}/store`,
    // The file's own URL, the upstream's base with the key appended, and when it was fetched.
    fetchedFrom: {
      url: `${symsrv.url}/store/${key}`,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    },
  });
  expect(Date.now() - Date.parse(doc.fetchedFrom!.at)).toBeLessThan(60_000);
  expect(doc.keys.map((record) => [record.key, record.source])).toContainEqual([
    key.toLowerCase(),
    'upstream',
  ]);
  const again = await get(feed, key);
  expect(again.status).toBe(200);
  expectBytes(again.body, bytes);
  expect(again.headers.get('x-symfeed-package')).toContain('upstream-');
  expect(symsrv.asked(key)).toBe(1);
  console.log(
    `upstream fetch of 300 KB: ${first.ms.toFixed(1)} ms; served from its package: ${again.ms.toFixed(1)} ms`,
  );
});

it('answers a HEAD that misses once the file is stored', async () => {
  const feed = await feedWith([ssqp('store')]);
  const key = newKey();
  symsrv.add(key, randomBytes(2000));
  const head = await fetch(`${stack.host.url}/F/${feed}/symbols/${key}`, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe('2000');
  expect(head.headers.get('x-symfeed-package')).toContain('upstream-');
  expect(symsrv.asked(key)).toBe(1);
});

it('remembers misses: probes reach the upstream once', async () => {
  const feed = await feedWith([ssqp('store')]);
  for (const probe of ['foo.pd_/ABC1/foo.pd_', 'foo.pdb/ABC1/file.ptr', 'index2.txt']) {
    expect((await get(feed, probe)).status).toBe(404);
    expect((await get(feed, probe)).status).toBe(404);
    expect(symsrv.asked(`/store/${probe}`)).toBe(1);
  }
});

it('makes one upstream request for concurrent requests of one key', async () => {
  const feed = await feedWith([ssqp('slow')]);
  const key = newKey();
  const bytes = symsrv.add(key, randomBytes(200_000));
  const answers = await Promise.all(Array.from({ length: 6 }, () => get(feed, key)));
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expectBytes(answer.body, bytes);
  }
  expect(symsrv.asked(`/slow/${key}`)).toBe(1);
});

it('gives up a slow upstream after its timeout and asks the next', async () => {
  const key = newKey();
  const bytes = symsrv.add(key, randomBytes(1000));
  const feed = await feedWith([ssqp('hang'), ssqp('store')]);
  const answer = await get(feed, key);
  expect(answer.status).toBe(200);
  expectBytes(answer.body, bytes);
  expect(answer.ms).toBeLessThan(TIMEOUT_MS + 1500);
  const alone = await feedWith([ssqp('hang')]);
  const missed = await get(alone, newKey());
  expect(missed.status).toBe(404);
  expect(missed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  expect(missed.ms).toBeLessThan(TIMEOUT_MS + 1500);
});

it('skips an upstream answering 5xx, and asks it again next time', async () => {
  const key = newKey();
  const bytes = symsrv.add(key, randomBytes(1000));
  const feed = await feedWith([ssqp('fail'), ssqp('store')]);
  expectBytes((await get(feed, key)).body, bytes);
  const failing = await feedWith([ssqp('fail')]);
  const other = newKey();
  expect((await get(failing, other)).status).toBe(404);
  expect((await get(failing, other)).status).toBe(404);
  expect(symsrv.asked(`/fail/${other}`)).toBe(2);
});

it("follows redirects, sending the upstream's own headers to its origin only", async () => {
  const key = newKey();
  const bytes = elsewhere.add(key, randomBytes(5000));
  const feed = await feedWith([ssqp('redirect', { Authorization: 'Bearer upstream-secret' })]);
  const answer = await get(feed, key);
  expect(answer.status).toBe(200);
  expectBytes(answer.body, bytes);
  expect(symsrv.seen.find((seen) => seen.url.includes(key))?.headers.authorization).toBe(
    'Bearer upstream-secret',
  );
  const target = elsewhere.seen.find((seen) => seen.url.includes(key));
  expect(target?.url).toBe(`/store/${key}`);
  expect(target?.headers.authorization).toBeUndefined();
});

it('cuts the response to a body over the limit and stores nothing', async () => {
  const feed = await feedWith([ssqp('big')]);
  const key = newKey();
  await expect(get(feed, key)).rejects.toThrow();
  const declared = await feedWith([ssqp('bigdeclared')]);
  expect((await get(declared, newKey())).status).toBe(404);
  await stack.host.drain();
  expect(await storedBlobs(feed)).toEqual([]);
  expect(await storedBlobs(declared)).toEqual([]);
});

it('cuts the response when the upstream dies mid-body, stores nothing, and asks again next time', async () => {
  const feed = await feedWith([ssqp('die')]);
  const key = newKey();
  symsrv.add(key, randomBytes(400_000));
  await expect(get(feed, key)).rejects.toThrow();
  await expect(get(feed, key)).rejects.toThrow();
  expect(symsrv.asked(`/die/${key}`)).toBe(2);
  await stack.host.drain();
  expect(await storedBlobs(feed)).toEqual([]);
});

it("never sends a private feed's credentials upstream", async () => {
  const feed = await feedWith([ssqp('store')], 'private');
  const { token } = await createToken(stack.rt.storage.tokensTable, { feed, scopes: ['read'] });
  const key = newKey();
  const bytes = symsrv.add(key, randomBytes(1000));
  const inPath = await fetch(`${stack.host.url}/F/${feed}/auth/${token}/symbols/${key}`);
  expectBytes(Buffer.from(await inPath.arrayBuffer()), bytes);
  const other = newKey();
  symsrv.add(other, bytes);
  const inHeader = await get(feed, other, { headers: { Authorization: `Bearer ${token}` } });
  expectBytes(inHeader.body, bytes);
  for (const seen of symsrv.seen.filter((s) => s.url.includes(key) || s.url.includes(other))) {
    expect(seen.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(token);
  }
  expect((await get(feed, newKey())).status).toBe(401);
});

it('serves uploaded keys before upstream ones, whichever came first', async () => {
  const feed = await feedWith([ssqp('store')]);
  const key = newKey();
  symsrv.add(key, Buffer.from('from upstream'));
  expect((await get(feed, key)).body.toString()).toBe('from upstream');
  await stack.indexed(upstreamPackageName(key.toLowerCase()), feed);
  await stack.upload(
    'uploaded.zip',
    await makeZip([
      { name: 'file.pdb', data: Buffer.from('uploaded') },
      {
        name: 'symbol_index.json',
        data: Buffer.from(symbolIndex([{ clientKey: key, blobPath: 'file.pdb' }])),
      },
    ]),
    feed,
  );
  const uploaded = await stack.indexed('uploaded.zip', feed);
  expect(uploaded.warnings).toContainEqual(
    expect.stringContaining('a package of the feed beats a file fetched from an upstream'),
  );
  stack.rt.locations.invalidate(feed, [key.toLowerCase()]);
  expect((await get(feed, key)).body.toString()).toBe('uploaded');
  // Uploaded first: the upstream is never asked.
  const before = newKey();
  symsrv.add(before, Buffer.from('from upstream'));
  await stack.upload(
    'first.zip',
    await makeZip([
      { name: 'file.pdb', data: Buffer.from('uploaded first') },
      {
        name: 'symbol_index.json',
        data: Buffer.from(symbolIndex([{ clientKey: before, blobPath: 'file.pdb' }])),
      },
    ]),
    feed,
  );
  await stack.indexed('first.zip', feed);
  expect((await get(feed, before)).body.toString()).toBe('uploaded first');
  expect(symsrv.asked(before)).toBe(0);
});

describe('debuginfod', () => {
  let feed = '';
  const debugId = buildIdOf('hello.debug');
  beforeAll(async () => {
    feed = await feedWith([{ kind: 'debuginfod', url: debuginfodUrl }, ssqp('store')]);
  });

  it('answers SSQP ELF keys from a debuginfod upstream', async () => {
    const debug = await get(feed, `_.debug/elf-buildid-sym-${debugId}/_.debug`);
    expect(debug.status).toBe(200);
    expectBytes(debug.body, elf('hello.debug'));
    const program = await get(feed, `hello/elf-buildid-${buildIdOf('hello')}/hello`);
    expect(program.status).toBe(200);
    expectBytes(program.body, elf('hello'));
  });

  it("answers symfeed's debuginfod route from a debuginfod upstream and from an SSQP one", async () => {
    const id = buildIdOf('libgreet.so.debug');
    const fromDebuginfod = await fetch(`${stack.host.url}/F/${feed}/buildid/${id}/debuginfo`);
    expect(fromDebuginfod.status).toBe(200);
    expectBytes(Buffer.from(await fromDebuginfod.arrayBuffer()), elf('libgreet.so.debug'));
    const ppcId = buildIdOf('hello-ppc64.debug');
    symsrv.add(`_.debug/elf-buildid-sym-${ppcId}/_.debug`, elf('hello-ppc64.debug'));
    const fromSsqp = await fetch(`${stack.host.url}/F/${feed}/buildid/${ppcId}/debuginfo`);
    expect(fromSsqp.status).toBe(200);
    expectBytes(Buffer.from(await fromSsqp.arrayBuffer()), elf('hello-ppc64.debug'));
  });

  it('keeps serving fetched files once the upstreams stop', async () => {
    await stack.indexed(upstreamPackageName(`_.debug/elf-buildid-sym-${debugId}/_.debug`), feed);
    debuginfod?.kill();
    await symsrv.stop();
    const started = performance.now();
    const debug = await get(feed, `_.debug/elf-buildid-sym-${debugId}/_.debug`);
    expect(debug.status).toBe(200);
    expectBytes(debug.body, elf('hello.debug'));
    const program = await get(feed, `hello/elf-buildid-${buildIdOf('hello')}/hello`);
    expectBytes(program.body, elf('hello'));
    console.log(
      `served after the upstreams stopped: ${(performance.now() - started).toFixed(1)} ms for two files`,
    );
  });
});

it('stores a fetched file in a zip whose entry is where, and as, the location it returns says', async () => {
  const key = 'stored.pdb/0123456789abcdef0123456789abcdef1/stored.pdb';
  const bytes = randomBytes(5 * 1024 * 1024 + 17);
  const container = stack.rt.storage.packagesContainer;
  const { client, stored } = storeUpstreamFile(container, {
    feed: 'default',
    key,
    clientKey: key,
    upstream: { url: 'http://upstream.invalid' },
    url: `http://upstream.invalid/${key}`,
    // Several chunks, as a response body arrives.
    body: Readable.from([
      bytes.subarray(0, 1000),
      bytes.subarray(1000, 3_000_000),
      bytes.subarray(3_000_000),
    ]),
    cancel: () => undefined,
  });
  client.resume();
  const location = await stored;
  const zip = await container.getBlobClient(location.blob).downloadToBuffer();
  // yauzl, an independent reader, says where the entry's data starts and what it holds.
  const entries = await new Promise<yauzl.Entry[]>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: false }, (error, file) => {
      if (error) return reject(error);
      const found: yauzl.Entry[] = [];
      file.on('entry', (entry: yauzl.Entry) => found.push(entry));
      file.on('end', () => resolve(found));
      file.on('error', reject);
    }),
  );
  expect(entries.map((entry) => entry.fileName)).toEqual([key, 'symbol_index.json']);
  const entry = entries[0]!;
  const header = entry.relativeOffsetOfLocalHeader;
  const dataOffset = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  expect(location).toMatchObject({
    entry: key,
    dataOffset,
    size: entry.uncompressedSize,
    compressedSize: entry.compressedSize,
    crc32: entry.crc32,
    method: 0,
  });
  expect(zip.subarray(dataOffset, dataOffset + bytes.length).equals(bytes)).toBe(true);
});
