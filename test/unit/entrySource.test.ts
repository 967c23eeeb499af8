import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import { FormatError } from '../../shared/formats/byteSource';
import { inflatedBufferSource, inflatingSource } from '../../shared/zip/entrySource';

const bytes = randomBytes(1024 * 1024);

/** A stream of the bytes in uneven chunks, counting how often it is opened. */
function opener() {
  const counter = { opens: 0 };
  const open = async () => {
    counter.opens += 1;
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 7_777) chunks.push(bytes.subarray(at, at + 7_777));
    return Readable.from(chunks);
  };
  return { counter, open };
}

describe('inflatingSource', () => {
  it('reads forward in one pass and serves the head again without restarting', async () => {
    const { counter, open } = opener();
    const source = inflatingSource(bytes.length, open);
    expect(await source.read(0, 64)).toEqual(bytes.subarray(0, 64));
    expect(await source.read(500_000, 100)).toEqual(bytes.subarray(500_000, 500_100));
    expect(await source.read(900_000, 20_000)).toEqual(bytes.subarray(900_000, 920_000));
    expect(await source.read(10, 1000)).toEqual(bytes.subarray(10, 1010));
    expect(counter.opens).toBe(1);
  });

  it('restarts for a read behind its position, a bounded number of times', async () => {
    const { counter, open } = opener();
    const source = inflatingSource(bytes.length, open);
    await source.read(800_000, 10);
    expect(await source.read(400_000, 10)).toEqual(bytes.subarray(400_000, 400_010));
    expect(counter.opens).toBe(2);
    const attempt = (async () => {
      for (let i = 0; i < 20; i++) await source.read(i % 2 ? 900_000 : 300_000, 10);
    })();
    await expect(attempt).rejects.toThrow(/more than 8 passes/);
  });

  it('refuses reads past the declared size and streams that end early', async () => {
    const { open } = opener();
    await expect(
      inflatingSource(bytes.length, open).read(bytes.length - 5, 10),
    ).rejects.toBeInstanceOf(FormatError);
    const short = inflatingSource(bytes.length + 100, open);
    await expect(short.read(bytes.length, 50)).rejects.toThrow(/ended before its declared size/);
  });
});

describe('inflatedBufferSource', () => {
  it('inflates once and reads', async () => {
    const source = inflatedBufferSource(deflateRawSync(bytes), bytes.length);
    expect(await source.read(1000, 10)).toEqual(bytes.subarray(1000, 1010));
  });

  it('refuses a size that disagrees and data that does not inflate', () => {
    expect(() => inflatedBufferSource(deflateRawSync(bytes), bytes.length - 1)).toThrow(
      /not the \d+ its header declares/,
    );
    expect(() => inflatedBufferSource(Buffer.from('not deflate at all'), 10)).toThrow(FormatError);
  });
});
