import { crc32, deflateRawSync } from 'node:zlib';
import { checkedEntryBytes } from '../../shared/zip/entryBytes';

describe('checkedEntryBytes', () => {
  const bytes = Buffer.from('the bytes of a small file '.repeat(20));
  const entry = { size: bytes.length, crc32: crc32(bytes) };

  it('gives the bytes of a stored entry and of a deflated one', () => {
    expect(checkedEntryBytes({ ...entry, method: 0 }, bytes)).toEqual({ bytes });
    expect(checkedEntryBytes({ ...entry, method: 8 }, deflateRawSync(bytes))).toEqual({ bytes });
  });

  it('refuses bytes whose CRC-32 differs from the declared one', () => {
    const damaged = Buffer.from(bytes);
    damaged.writeUInt8(damaged.readUInt8(3) ^ 0x20, 3);
    expect(checkedEntryBytes({ ...entry, method: 0 }, damaged)).toEqual({
      problem: expect.stringMatching(/^its CRC-32 is 0x[0-9a-f]{8}, not the 0x[0-9a-f]{8}/),
    });
  });

  it('refuses a size other than the declared one, and data that does not inflate', () => {
    expect(checkedEntryBytes({ ...entry, size: 10, method: 8 }, deflateRawSync(bytes))).toEqual({
      problem: expect.stringMatching(/^it does not inflate|^it is \d+ bytes, not the 10/),
    });
    expect(checkedEntryBytes({ ...entry, method: 8 }, Buffer.from([0xff, 0xff]))).toEqual({
      problem: expect.stringMatching(/^it does not inflate/),
    });
    expect(checkedEntryBytes({ ...entry, size: 3, method: 0 }, bytes)).toEqual({
      problem: `it is ${bytes.length} bytes, not the 3 its header declares`,
    });
  });
});
