import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { startStack, Stack } from '../support/stack';

/**
 * A package of over 300 MB: indexing reads only its directory and headers, and serving streams
 * the big entry through the host with the process's memory staying flat.
 */
const MB = 1024 * 1024;
const BIG_BYTES = 320 * MB;

let stack: Stack;
afterAll(() => stack?.stop());

function pseudoRandom(bytes: number, hash: ReturnType<typeof createHash>): Readable {
  // One random megabyte, varied per chunk so no two chunks are equal: incompressible and fast.
  const seed = randomBytes(MB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const chunk = Buffer.from(seed);
      chunk.writeUInt32LE(sent / MB, 0);
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

it('indexes a 320 MB package and streams its big entry with bounded memory', async () => {
  stack = await startStack();
  const expected = createHash('sha256');
  const zip = new yazl.ZipFile();
  zip.addBuffer(
    Buffer.from(
      JSON.stringify([{ clientKey: 'big.pdb/0123456789abcdef1/big.pdb', blobPath: 'lib/big.pdb' }]),
    ),
    'symbol_index.json',
  );
  zip.addReadStream(pseudoRandom(BIG_BYTES, expected), 'lib/big.pdb', {
    compress: false,
    size: BIG_BYTES,
  });
  zip.end();
  await stack.rt.storage.packagesContainer
    .getBlockBlobClient('default/big.zip')
    .uploadStream(zip.outputStream as Readable, 8 * MB, 4);
  const doc = await stack.indexed('big.zip');
  expect(doc.state).toBe('succeeded');
  expect(doc.size).toBeGreaterThan(300 * MB);

  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const response = await fetch(`${stack.symbols}/big.pdb/0123456789ABCDEF1/big.pdb`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-length')).toBe(String(BIG_BYTES));
  const actual = createHash('sha256');
  let received = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    actual.update(chunk);
    received += chunk.length;
  }
  clearInterval(sampler);
  expect(received).toBe(BIG_BYTES);
  expect(actual.digest('hex')).toBe(expected.digest('hex'));
  // The entry is 320 MB; the host may hold buffers in flight, never the file.
  console.log(
    `streaming ${BIG_BYTES / MB} MB raised RSS by ${((peak - before) / MB).toFixed(1)} MB`,
  );
  expect((peak - before) / MB).toBeLessThan(100);
});
