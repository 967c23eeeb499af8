import { gunzipSync, deflateRawSync, crc32 } from 'node:zlib';
import { acceptsGzip, GZIP_HEADER, gzipTrailer } from '../../shared/serve/contentCoding';

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['GZip', true],
    ['x-gzip', true],
    ['deflate, gzip;q=0.5', true],
    ['gzip, deflate, br, zstd', true],
    ['*', true],
    ['br;q=1, *;q=0.1', true],
    ['gzip ; q=1.0', true],
    ['gzip;q=0', false],
    ['gzip;q=0.000', false],
    ['gzip;q=0, *', false],
    ['*;q=0', false],
    ['br, deflate', false],
    ['identity', false],
    ['gzip;q=2', false],
    ['gzip;q=abc', false],
    ['', false],
    [null, false],
    [undefined, false],
  ])('%p: %p', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

it('frames a raw deflate stream as a gzip member gunzip accepts', () => {
  const data = Buffer.from('symbols '.repeat(1000));
  const member = Buffer.concat([GZIP_HEADER, deflateRawSync(data), gzipTrailer(crc32(data), 8000)]);
  expect(gunzipSync(member)).toEqual(data);
  const wrongCrc = Buffer.concat([GZIP_HEADER, deflateRawSync(data), gzipTrailer(1, 8000)]);
  expect(() => gunzipSync(wrongCrc)).toThrow();
});
