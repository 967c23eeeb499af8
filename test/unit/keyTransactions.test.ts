import { transactionsOf } from '../../shared/index/keyTable';

describe('transactionsOf', () => {
  const item = (partitionKey: string, bytes: number) => ({ partitionKey, bytes });
  const weight = (i: { bytes: number }) => i.bytes;

  it('groups by partition, at most `size` items a group', () => {
    const items = [
      ...Array.from({ length: 7 }, () => item('a', 10)),
      ...Array.from({ length: 2 }, () => item('b', 10)),
    ];
    const groups = transactionsOf(items, 3, weight);
    expect(groups.map((g) => [g[0]!.partitionKey, g.length])).toEqual([
      ['a', 3],
      ['a', 3],
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('takes a fractional size as its whole part', () => {
    const groups = transactionsOf(
      Array.from({ length: 70 }, () => item('a', 1)),
      100 / 3,
      weight,
    );
    expect(groups.map((g) => g.length)).toEqual([33, 33, 4]);
  });

  it('keeps a group within 3 MiB of payload, and a heavier item alone', () => {
    const MiB = 1024 ** 2;
    const items = [
      item('a', MiB),
      item('a', MiB),
      item('a', MiB),
      item('a', 5 * MiB),
      item('a', 1),
    ];
    const groups = transactionsOf(items, 50, weight);
    expect(groups.map((g) => g.map((i) => i.bytes))).toEqual([[MiB, MiB, MiB], [5 * MiB], [1]]);
  });
});
