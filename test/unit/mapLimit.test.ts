import { mapLimit } from '../../shared/util/mapLimit';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and returns results in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      for (let i = 0; i < n; i++) await tick();
      inFlight -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('starts nothing after a call fails, and rejects once the calls in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const items = Array.from({ length: 20 }, (_, i) => i);
    const run = mapLimit(items, 3, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error('item 1 failed');
      // The others in flight take a little longer than the failure.
      await tick();
      await tick();
      settled.push(n);
      return n;
    });
    let rejectedAfter: number[] | undefined;
    await expect(
      run.catch((error: unknown) => {
        rejectedAfter = [...settled];
        throw error;
      }),
    ).rejects.toThrow('item 1 failed');
    // Items 0 and 2 were in flight with item 1; nothing started once it failed.
    expect(started).toEqual([0, 1, 2]);
    // The rejection waited for them, so no work of this call goes on after it.
    expect(rejectedAfter).toEqual([0, 2]);
    for (let i = 0; i < 10; i++) await tick();
    expect(started).toEqual([0, 1, 2]);
  });

  it('rejects with the first failure when several fail', async () => {
    await expect(
      mapLimit([1, 2, 3], 3, async (n) => {
        for (let i = 0; i < n; i++) await tick();
        throw new Error(`failure ${n}`);
      }),
    ).rejects.toThrow('failure 1');
  });

  it('returns an empty list for no items', async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});
