import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { BlobClient } from '@azure/storage-blob';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';
import { MiB, peakRss, resetPeakRss } from '../support/memory';

/**
 * Mid-size files stay hot: many clients asking at once for the same cold file wait on one storage
 * read, and many cold files asked for at once take no more memory than the hot-file budget (fills
 * under way hold at most that much beside the cache; the rest stream).
 */
let stack: Stack;
const BUDGET = 16 * MiB;
const ENTRIES = 24;
const ENTRY_BYTES = 4 * MiB;

beforeAll(async () => {
  stack = await startStack({ SYMFEED_HOT_CACHE_BYTES: String(BUDGET) });
});
afterAll(() => stack?.stop());

/** Counts the whole-entry reads (downloadToBuffer) of one package blob, and passes them on. */
function countReads(blobName: string): { count: number; restore(): void } {
  const container = stack.rt.storage.packagesContainer;
  const original = container.getBlobClient.bind(container);
  const counter = { count: 0, restore: () => void (container.getBlobClient = original) };
  container.getBlobClient = (name: string): BlobClient => {
    const client = original(name);
    if (name === blobName) {
      const download = client.downloadToBuffer.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { downloadToBuffer: unknown }).downloadToBuffer = (
        ...args: unknown[]
      ) => {
        counter.count += 1;
        return download(...args);
      };
    }
    return client;
  };
  return counter;
}

/** A GET whose bytes are counted, not kept: the test process holds no copies. */
function fetchLength(key: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; length: number; first: number }>((resolve, reject) => {
    request(`${stack.symbols}/${key}`, { headers }, (res) => {
      let length = 0;
      let first = -1;
      res.on('data', (chunk: Buffer) => {
        if (length === 0) first = chunk[0]!;
        length += chunk.length;
      });
      res.on('end', () =>
        res.complete
          ? resolve({ status: res.statusCode ?? 0, length, first })
          : reject(new Error('cut')),
      );
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

it('reads a cold 1 MB entry once for 64 clients asking at once, and serves them all', async () => {
  const data = Buffer.concat([randomBytes(512 * 1024), Buffer.alloc(512 * 1024, 'symbols ')]);
  await stack.upload(
    'one.zip',
    await makeZip([
      { name: 'symbol_index.json', data: symbolIndex([{ clientKey: 'one', blobPath: 'one.bin' }]) },
      { name: 'one.bin', data, compress: true },
    ]),
  );
  await stack.indexed('one.zip');
  const reads = countReads('default/one.zip');
  try {
    const answers = await Promise.all(
      Array.from({ length: 64 }, () =>
        fetch(`${stack.symbols}/one`, { headers: { 'Accept-Encoding': 'identity' } }).then(
          async (response) => Buffer.from(await response.arrayBuffer()),
        ),
      ),
    );
    expect(answers.every((answer) => answer.equals(data))).toBe(true);
    expect(reads.count).toBe(1);
    await fetch(`${stack.symbols}/one`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(reads.count).toBe(1);
  } finally {
    reads.restore();
  }
});

/** Random bytes, made as they are read, so that the test process never holds a whole entry. */
async function* randomChunks(total: number): AsyncGenerator<Buffer> {
  for (let made = 0; made < total; made += 64 * 1024) yield randomBytes(64 * 1024);
}

it(`keeps memory near the budget when ${ENTRIES} cold mid-size files are asked for at once`, async () => {
  const keys = Array.from({ length: ENTRIES }, (_, i) => `mid-${i}`);
  // Zipped as it uploads: a package built in memory would leave this process's heap large
  // enough to hide any growth.
  const zip = new yazl.ZipFile();
  const index = symbolIndex(keys.map((key) => ({ clientKey: key, blobPath: `${key}.bin` })));
  zip.addBuffer(Buffer.from(index), 'symbol_index.json');
  for (const key of keys) zip.addReadStream(Readable.from(randomChunks(ENTRY_BYTES)), `${key}.bin`);
  zip.end();
  await stack.rt.storage.packagesContainer
    .getBlockBlobClient('default/mid.zip')
    .uploadStream(zip.outputStream as Readable, 4 * MiB, 2);
  await stack.indexed('mid.zip');
  const before = resetPeakRss();
  const answers = await Promise.all(
    keys.map((key) => fetchLength(key, { 'Accept-Encoding': 'identity' })),
  );
  const grew = Math.round((peakRss() - before) / MiB);
  expect(answers.map((a) => [a.status, a.length])).toEqual(keys.map(() => [200, ENTRY_BYTES]));
  // Unbounded, each fill holds its compressed and inflated bytes: 8 MiB each, 192 MiB in all.
  expect(grew).toBeLessThan((5 * BUDGET) / MiB);
});
