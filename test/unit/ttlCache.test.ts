import { TtlCache } from '../../shared/util/ttlCache';

describe('TtlCache', () => {
  it('remembers values and misses until they expire', () => {
    const cache = new TtlCache<string | undefined>(10);
    cache.set('hit', 'v', 1000, 0);
    cache.set('miss', undefined, 1000, 0);
    expect(cache.get('hit', 999)).toEqual({ hit: true, value: 'v' });
    expect(cache.get('miss', 999)).toEqual({ hit: true, value: undefined });
    expect(cache.get('hit', 1000)).toEqual({ hit: false });
    expect(cache.get('other', 0)).toEqual({ hit: false });
  });

  it('does not cache with a zero lifetime and evicts the oldest past its size', () => {
    const cache = new TtlCache<number>(2);
    cache.set('zero', 1, 0, 0);
    expect(cache.get('zero', 0)).toEqual({ hit: false });
    cache.set('a', 1, 1000, 0);
    cache.set('b', 2, 1000, 0);
    cache.set('c', 3, 1000, 0);
    expect(cache.get('a', 1)).toEqual({ hit: false });
    expect(cache.get('c', 1)).toEqual({ hit: true, value: 3 });
  });

  it('lets go of expired entries nobody asks for again, oldest first', () => {
    const cache = new TtlCache<undefined>(100_000);
    for (let i = 0; i < 1_000; i++) cache.set(`miss-${i}`, undefined, 2_000, i);
    expect(cache.size).toBe(1_000);
    // 3 s later every earlier entry has expired: the next insertions sweep them out.
    cache.set('late', undefined, 2_000, 5_000);
    expect(cache.size).toBe(1);
    expect(cache.get('late', 5_001)).toEqual({ hit: true, value: undefined });
  });
});
