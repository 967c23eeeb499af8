import { RefreshingCache } from '../../shared/util/refreshingCache';

/** A read of storage the test answers when it chooses. */
interface PendingRead {
  readonly key: string;
  resolve(value: string | undefined): void;
  reject(error: Error): void;
}

function cacheOverReads(lifetimeMs = 5_000) {
  const reads: PendingRead[] = [];
  const cache = new RefreshingCache<string | undefined>({
    maxEntries: 100,
    name: 'test cache',
    lifetimeMs: (value) => (value === undefined ? 0 : lifetimeMs),
    read: (key) =>
      new Promise((resolve, reject) => {
        reads.push({ key, resolve, reject });
      }),
  });
  return { cache, reads };
}

/** Lets settled reads run their callbacks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A get that must answer without waiting on any read. */
async function answeredAtOnce<T>(pending: Promise<T>): Promise<T> {
  const none = Symbol('waiting');
  const first = await Promise.race([pending, settle().then(() => none)]);
  if (first === none) throw new Error('the get waited on a read');
  return first as T;
}

/** A cache that read `value` for `key` at time 0, and has since begun a background read at 3 s. */
async function refreshingAt3s(key: string, value: string) {
  const { cache, reads } = cacheOverReads();
  const first = cache.get(key, 0);
  reads[0]!.resolve(value);
  await first;
  expect(await answeredAtOnce(cache.get(key, 3_000))).toBe(value);
  expect(reads).toHaveLength(2);
  return { cache, reads };
}

describe('RefreshingCache', () => {
  it('reads a steadily used entry again in the background: no get after the first waits', async () => {
    const { cache, reads } = cacheOverReads();
    const first = cache.get('feed', 0);
    reads[0]!.resolve('v0');
    expect(await first).toBe('v0');
    let answered = 1;
    for (let now = 100; now <= 30_000; now += 100) {
      expect(await answeredAtOnce(cache.get('feed', now))).toMatch(/^v/);
      for (; answered < reads.length; answered++) reads[answered]!.resolve(`v${answered}`);
      await settle();
    }
    // Once every half lifetime, each beginning where the last left off: 30 s / 2.5 s.
    expect(reads.length).toBe(13);
    expect(await answeredAtOnce(cache.get('feed', 30_100))).toBe('v12');
  });

  it('lets an unused entry expire at its bound, counted from when its read began', async () => {
    const { cache, reads } = cacheOverReads();
    const first = cache.get('feed', 1_000);
    reads[0]!.resolve('old');
    await first;
    expect(await answeredAtOnce(cache.get('feed', 2_000))).toBe('old');
    expect(reads).toHaveLength(1);
    const late = cache.get('feed', 6_000);
    expect(reads).toHaveLength(2);
    reads[1]!.resolve('new');
    expect(await late).toBe('new');
  });

  it('lets a forget (a write through the owner) during a background read win', async () => {
    const { cache, reads } = await refreshingAt3s('feed', 'before');
    cache.forget();
    reads[1]!.resolve('before');
    await settle();
    const after = cache.get('feed', 3_001);
    expect(reads).toHaveLength(3);
    reads[2]!.resolve('written');
    expect(await after).toBe('written');
  });

  it('forgets an entry whose background read finds it no longer to be remembered', async () => {
    const { cache, reads } = await refreshingAt3s('token', 'valid');
    reads[1]!.resolve(undefined);
    await settle();
    const next = cache.get('token', 3_001);
    expect(reads).toHaveLength(3);
    reads[2]!.resolve(undefined);
    expect(await next).toBeUndefined();
  });

  it('logs a failed background read, rejects nothing unhandled, and expires the entry at its bound', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const log = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { cache, reads } = await refreshingAt3s('feed', 'v');
      reads[1]!.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }));
      await settle();
      await settle();
      expect(unhandled).toEqual([]);
      expect(log).toHaveBeenCalledWith(expect.stringContaining('ECONNREFUSED'));
      // The old entry answers until its bound, with no second background read.
      expect(await answeredAtOnce(cache.get('feed', 4_999))).toBe('v');
      expect(reads).toHaveLength(2);
      const expired = cache.get('feed', 5_000);
      expect(reads).toHaveLength(3);
      reads[2]!.reject(new Error('still down'));
      await expect(expired).rejects.toThrow('still down');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      log.mockRestore();
    }
  });
});
