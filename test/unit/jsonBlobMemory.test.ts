import { Readable } from 'node:stream';
import { BlockBlobClient, RestError } from '@azure/storage-blob';
import { JsonBlobMemory } from '../../shared/storage/jsonBlobMemory';

/** A blob in memory that answers GETs as storage does (304 on a matching If-None-Match). */
class FakeBlob {
  gets = 0;
  notModified = 0;
  private version = 0;
  private body: string | undefined;
  /** Holds GETs until released, to see reads at once share one. */
  gate: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    doc?: unknown,
  ) {
    if (doc !== undefined) this.put(doc);
  }

  readonly containerName = 'listings';

  put(doc: unknown): void {
    this.body = JSON.stringify(doc);
    this.version++;
  }

  async download(
    _offset: number,
    _count: undefined,
    options: { conditions?: { ifNoneMatch?: string } },
  ) {
    this.gets++;
    await this.gate;
    if (this.body === undefined) throw new RestError('absent', { statusCode: 404 });
    const etag = `"v${this.version}"`;
    if (options.conditions?.ifNoneMatch === etag) {
      this.notModified++;
      throw new RestError('not modified', { statusCode: 304 });
    }
    return { etag, readableStreamBody: Readable.from([Buffer.from(this.body)]) };
  }

  get client(): BlockBlobClient {
    return this as unknown as BlockBlobClient;
  }
}

function memoryAt(clock: { now: number }, maxBytes = 1_000_000) {
  return new JsonBlobMemory({ maxBytes, freshMs: 5_000 }, () => clock.now);
}

it('serves a document from memory within the bound, then revalidates it with a conditional GET', async () => {
  const clock = { now: 0 };
  const memory = memoryAt(clock);
  const blob = new FakeBlob('feed/index.json', { pages: [1] });
  const first = await memory.read<{ pages: number[] }>(blob.client);
  clock.now = 2_499;
  expect((await memory.read(blob.client))?.doc).toBe(first?.doc);
  expect(blob.gets).toBe(1);

  clock.now = 5_000;
  const revalidated = await memory.read(blob.client);
  expect(blob.gets).toBe(2);
  expect(blob.notModified).toBe(1);
  // A 304 keeps the parsed document itself, and trusts it for another bound.
  expect(revalidated?.doc).toBe(first?.doc);
  clock.now = 7_499;
  await memory.read(blob.client);
  expect(blob.gets).toBe(2);
});

it('revalidates a document read past half its bound in the background, serving it meanwhile', async () => {
  const clock = { now: 0 };
  const memory = memoryAt(clock);
  const blob = new FakeBlob('feed/pages/p.json', { ids: ['a'] });
  const first = await memory.read(blob.client);
  let release!: () => void;
  blob.gate = new Promise((resolve) => (release = resolve));
  clock.now = 2_500;
  // Answered while the revalidation waits on storage.
  expect((await memory.read(blob.client))?.doc).toBe(first?.doc);
  expect((await memory.read(blob.client))?.doc).toBe(first?.doc);
  expect(blob.gets).toBe(2);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  // Trusted from the revalidation on: no read until half a bound after it.
  clock.now = 4_999;
  await memory.read(blob.client);
  expect(blob.gets).toBe(2);
  expect(blob.notModified).toBe(1);
});

it('shows a change made elsewhere once the bound has passed, not before', async () => {
  const clock = { now: 0 };
  const memory = memoryAt(clock);
  const blob = new FakeBlob('feed/ids/a.json', { views: ['1.0.0'] });
  await memory.read(blob.client);
  blob.put({ views: ['1.0.0', '2.0.0'] });
  clock.now = 4_000;
  expect((await memory.read(blob.client))?.doc).toEqual({ views: ['1.0.0'] });
  clock.now = 5_000;
  expect((await memory.read(blob.client))?.doc).toEqual({ views: ['1.0.0', '2.0.0'] });
});

it('reads a blob forgotten after a write here again at once', async () => {
  const clock = { now: 0 };
  const memory = memoryAt(clock);
  const blob = new FakeBlob('feed/ids/a.json', { views: ['1.0.0'] });
  await memory.read(blob.client);
  blob.put({ views: ['2.0.0'] });
  memory.forget(blob.client);
  expect((await memory.read(blob.client))?.doc).toEqual({ views: ['2.0.0'] });
});

it('shares one GET among reads at once, and does not keep a read begun before a forget', async () => {
  const memory = memoryAt({ now: 0 });
  const blob = new FakeBlob('feed/pages/p.json', { ids: ['a'] });
  let release!: () => void;
  blob.gate = new Promise((resolve) => (release = resolve));
  const reads = Array.from({ length: 16 }, () => memory.read(blob.client));
  release();
  const docs = await Promise.all(reads);
  expect(blob.gets).toBe(1);
  expect(new Set(docs.map((read) => read?.doc)).size).toBe(1);

  memory.forget(blob.client);
  blob.gate = new Promise((resolve) => (release = resolve));
  const stale = memory.read(blob.client);
  blob.put({ ids: ['a', 'b'] });
  memory.forget(blob.client);
  release();
  await stale;
  // The read in flight at the forget is not remembered, nor shared with the reads after it.
  expect((await memory.read(blob.client))?.doc).toEqual({ ids: ['a', 'b'] });
  expect(blob.gets).toBe(3);
});

it('holds at most its bound in bytes, letting the least recently read go first', async () => {
  const clock = { now: 0 };
  const doc = { text: 'x'.repeat(90) }; // 101 bytes as JSON
  const memory = memoryAt(clock, 250);
  const [a, b, c] = ['a', 'b', 'c'].map((name) => new FakeBlob(name, doc));
  await memory.read(a!.client);
  await memory.read(b!.client);
  await memory.read(a!.client); // a is now the most recent
  await memory.read(c!.client);
  expect(memory.size).toBe(202);
  await memory.read(a!.client);
  await memory.read(c!.client);
  await memory.read(b!.client);
  expect([a!.gets, b!.gets, c!.gets]).toEqual([1, 2, 1]);

  const huge = new FakeBlob('huge', { text: 'x'.repeat(300) });
  await memory.read(huge.client);
  await memory.read(huge.client);
  expect(huge.gets).toBe(2);
  expect(memory.size).toBeLessThanOrEqual(250);
});

it('does not remember an absent blob', async () => {
  const memory = memoryAt({ now: 0 });
  const blob = new FakeBlob('feed/index.json');
  expect(await memory.read(blob.client)).toBeUndefined();
  blob.put({ pages: [] });
  expect((await memory.read(blob.client))?.doc).toEqual({ pages: [] });
});
