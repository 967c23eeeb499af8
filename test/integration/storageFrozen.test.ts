import { randomBytes } from 'node:crypto';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { azuritePid, freeze, thaw } from '../support/azuriteProcess';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Fault: Azurite frozen with SIGSTOP. Its ports still accept connections (the kernel does that),
 * but nothing answers: tried as a new user would, a symbol request hung for 150 s. Every request
 * must end within 10 s, with the file when it is held in memory and 503 with Retry-After when it
 * needs storage, and /health must say which services do not answer.
 */
const BOUND_MS = 10_000;
const small = randomBytes(4_000);
const evicted = randomBytes(4_000);
const large = randomBytes(300_000);
const other = randomBytes(5_000);

let stack: Stack;
let pid: number;
let frozen = false;

beforeAll(async () => {
  // Room in memory for one small file: the second one read pushes the first out.
  stack = await startStack({ SYMFEED_HOT_CACHE_BYTES: '6000' });
  pid = azuritePid(stack.azurite.connectionString);
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'cold-feed', visibility: 'public' });
  await stack.upload(
    'frozen.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([
          { clientKey: 'small/1/small', blobPath: 'small.bin' },
          { clientKey: 'large/1/large', blobPath: 'large.bin' },
          { clientKey: 'cold/1/cold', blobPath: 'small.bin' },
          { clientKey: 'evicted/1/evicted', blobPath: 'evicted.bin' },
        ]),
      },
      { name: 'small.bin', data: small, compress: false },
      { name: 'evicted.bin', data: evicted, compress: false },
      { name: 'large.bin', data: large, compress: false },
    ]),
  );
  await stack.upload(
    'other.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([{ clientKey: 'other/1/other', blobPath: 'o' }]),
      },
      { name: 'o', data: other },
    ]),
    'cold-feed',
  );
  expect((await stack.indexed('frozen.zip')).state).toBe('succeeded');
  expect((await stack.indexed('other.zip', 'cold-feed')).state).toBe('succeeded');
  // Hot: the small file's bytes and the large file's location are now in memory, and the evicted
  // file's location without its bytes, which the next read must fetch from storage again.
  for (const key of ['evicted/1/evicted', 'small/1/small', 'large/1/large']) {
    const response = await fetch(`${stack.symbols}/${key}`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
});

afterAll(async () => {
  if (frozen) thaw(pid);
  await stack?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  body: Buffer;
  ms: number;
}

/** One request, cut off well after the bound so that a hang fails with figures, not a jest timeout. */
async function timed(url: string): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3 * BOUND_MS) });
    const body = Buffer.from(await response.arrayBuffer());
    const retryAfter = response.headers.get('retry-after');
    return { status: response.status, retryAfter, body, ms: Date.now() - started };
  } catch (error) {
    return {
      status: 0,
      retryAfter: null,
      body: Buffer.from(String(error)),
      ms: Date.now() - started,
    };
  }
}

it('answers every symbol request within 10 s while storage is frozen, 503 unless it is in memory', async () => {
  freeze(pid);
  frozen = true;
  const url = (key: string, feed = 'default') => `${stack.host.url}/F/${feed}/symbols/${key}`;
  const [hotSmall, hotEvicted, hotLarge, coldHit, coldMiss, coldFeed, health] = await Promise.all([
    timed(url('small/1/small')),
    timed(url('evicted/1/evicted')),
    timed(url('large/1/large')),
    timed(url('cold/1/cold')),
    timed(url('never/1/asked')),
    timed(url('other/1/other', 'cold-feed')),
    timed(`${stack.host.url}/health`),
  ]);
  const answers = { hotSmall, hotEvicted, hotLarge, coldHit, coldMiss, coldFeed, health };
  // Compared as a whole, so that a failure shows every answer with its time.
  const observed = Object.entries(answers).map(([name, answer]) => ({
    name,
    status: answer.status,
    retryAfter: answer.retryAfter !== null,
    ms: answer.ms,
    withinBound: answer.ms < BOUND_MS,
  }));
  const expected = (name: string, status: number) => ({
    name,
    status,
    retryAfter: status === 503,
    ms: expect.any(Number),
    withinBound: true,
  });
  expect(observed).toEqual([
    expected('hotSmall', 200),
    expected('hotEvicted', 503),
    expected('hotLarge', 503),
    expected('coldHit', 503),
    expected('coldMiss', 503),
    expected('coldFeed', 503),
    expected('health', 503),
  ]);
  expect(hotSmall.body.equals(small)).toBe(true);
  expect(health.body.toString()).toMatch(/blob: unreachable/);
  expect(health.body.toString()).toMatch(/queue: unreachable/);
  expect(health.body.toString()).toMatch(/table: unreachable/);
});

it('serves again, without a restart, as soon as storage answers', async () => {
  thaw(pid);
  frozen = false;
  const deadline = Date.now() + BOUND_MS;
  let last: Answer | undefined;
  while (Date.now() < deadline) {
    last = await timed(`${stack.symbols}/cold/1/cold`);
    if (last.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(last?.status).toBe(200);
  expect(last?.body.equals(small)).toBe(true);
  const large_ = await timed(`${stack.symbols}/large/1/large`);
  expect(large_.status).toBe(200);
  expect(large_.body.equals(large)).toBe(true);
  const health = await timed(`${stack.host.url}/health`);
  expect(health.status).toBe(200);
  expect(health.body.toString()).toMatch(/blob: ok/);
});
