import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Fault: a package blob replaced while a large file of it streams slowly to a client. The
 * response either completes with the old bytes or fails; it never goes on with the new bytes.
 */
const SIZE = 24 * 1024 * 1024;
const versions = [1, 2].map(() => ({
  stored: randomBytes(SIZE),
  // Half random, half text: a deflate stream of some length, not a copy.
  deflated: Buffer.concat([randomBytes(SIZE / 2), Buffer.alloc(SIZE / 2, 'symbols ')]),
}));

let stack: Stack;

const packageOf = (version: (typeof versions)[number]) =>
  makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex([
        { clientKey: 'stored/1/stored', blobPath: 'stored.bin' },
        { clientKey: 'deflated/1/deflated', blobPath: 'deflated.bin' },
      ]),
    },
    { name: 'stored.bin', data: version.stored, compress: false },
    { name: 'deflated.bin', data: version.deflated, compress: true },
  ]);

beforeAll(async () => {
  stack = await startStack();
  await stack.upload('replaced.zip', await packageOf(versions[0]!));
  expect((await stack.indexed('replaced.zip')).state).toBe('succeeded');
});
afterAll(() => stack?.stop());

interface SlowDownload {
  readonly status: number;
  readonly length: number;
  /** Resolves with what arrived, and whether the response ended normally. */
  readonly done: Promise<{ bytes: Buffer; complete: boolean }>;
  /** Resolves once this many bytes have arrived. */
  received(bytes: number): Promise<void>;
  /** Stops reading (the server's writes back up) until resume(). */
  hold(): void;
  resume(): void;
}

/** A client that reads 64 KiB every 10 ms (about 6 MB/s): 24 MB take 4 s. */
function slowDownload(url: string): Promise<SlowDownload> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        const chunks: Buffer[] = [];
        let total = 0;
        let held = false;
        const waiting: { bytes: number; resolve: () => void }[] = [];
        const done = new Promise<{ bytes: Buffer; complete: boolean }>((settle) => {
          response.on('error', () => undefined);
          response.on('close', () => {
            waiting.forEach((w) => w.resolve());
            // `complete`: the whole message arrived, as Content-Length announced it.
            settle({ bytes: Buffer.concat(chunks), complete: response.complete });
          });
        });
        const pump = () => {
          let chunk: Buffer | null;
          let taken = 0;
          while (
            !held &&
            taken < 64 * 1024 &&
            (chunk = response.read() as Buffer | null) !== null
          ) {
            chunks.push(chunk);
            total += chunk.length;
            taken += chunk.length;
          }
          for (const w of waiting.filter((w) => total >= w.bytes)) w.resolve();
          if (!response.readableEnded && !response.destroyed) setTimeout(pump, 10);
        };
        response.once('readable', pump);
        resolve({
          status: response.statusCode ?? 0,
          length: Number(response.headers['content-length']),
          done,
          received: (bytes) =>
            new Promise<void>((ready) => {
              if (total >= bytes) ready();
              else waiting.push({ bytes, resolve: ready });
            }),
          hold: () => (held = true),
          resume: () => (held = false),
        });
      })
      .on('error', reject);
  });
}

it.each(['stored', 'deflated'] as const)(
  'streams the %s file to the end with the old bytes, or breaks off, when the package is replaced mid-way',
  async (entry) => {
    const old = versions[0]![entry];
    const replacement = versions[1]![entry];
    const download = await slowDownload(`${stack.symbols}/${entry}/1/${entry}`);
    expect(download.status).toBe(200);
    expect(download.length).toBe(SIZE);
    await download.received(2 * 1024 * 1024);
    download.hold();

    // Replaced and indexed again while the download waits, part read.
    await stack.upload('replaced.zip', await packageOf(versions[1]!));
    expect((await stack.indexed('replaced.zip')).state).toBe('succeeded');
    download.resume();

    const { bytes, complete } = await download.done;
    // Never a byte of the new file: what arrived is the old file, or the start of it.
    expect(bytes.equals(old.subarray(0, bytes.length))).toBe(true);
    if (complete) expect(bytes.length).toBe(SIZE);
    else expect(bytes.length).toBeLessThan(SIZE);
    // The next request serves the new file.
    const fresh = await fetch(`${stack.symbols}/${entry}/1/${entry}`);
    expect(Buffer.from(await fresh.arrayBuffer()).equals(replacement)).toBe(true);
    // Back to the first version for the next case.
    await stack.upload('replaced.zip', await packageOf(versions[0]!));
    expect((await stack.indexed('replaced.zip')).state).toBe('succeeded');
  },
);
