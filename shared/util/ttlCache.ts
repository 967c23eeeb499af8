/**
 * A bounded in-memory cache whose entries expire. Values may be `undefined` (a remembered miss);
 * `get` tells a cached miss from no entry through the `hit` flag.
 *
 * Expired entries are let go from the oldest end as new ones come in, so that keys asked for
 * once (most misses) do not stay until the size bound pushes them out: a server answering a
 * stream of fresh keys would otherwise hold the bound's worth of them for good. The sweep stops
 * at the first live entry, so one cache should hold entries of one lifetime.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(private readonly maxEntries: number) {}

  get(key: string, now = Date.now()): { hit: true; value: V } | { hit: false } {
    const entry = this.entries.get(key);
    if (!entry) return { hit: false };
    if (entry.expires <= now) {
      this.entries.delete(key);
      return { hit: false };
    }
    return { hit: true, value: entry.value };
  }

  set(key: string, value: V, ttlMs: number, now = Date.now()): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    // Map order is insertion order: the first entries are the oldest.
    for (const [oldest, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: now + ttlMs });
    if (this.entries.size > this.maxEntries) {
      // Insertion order: the first key is the one written longest ago.
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
