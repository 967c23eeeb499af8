import { TtlCache } from './ttlCache';

interface Entry<V> {
  readonly value: V;
  /** When a use starts a read in the background; Infinity once one has been started. */
  refreshAt: number;
}

export interface RefreshingCacheOptions<V> {
  readonly maxEntries: number;
  /** Reads the value afresh from storage. */
  readonly read: (key: string) => Promise<V>;
  /** How long a value read may decide requests; 0 or less: not remembered (and forgotten). */
  readonly lifetimeMs: (value: V) => number;
  /** Names the cache in the log line of a failed background read (keys are never logged). */
  readonly name: string;
}

/**
 * Remembers values read from storage for a bounded lifetime, counted from when the read began, so
 * no answer is decided by a read begun longer ago than the bound. An entry in use is read again
 * in the background once it is half its lifetime old, so steady requests keep finding a fresh
 * entry and never wait on storage; one not used for that long expires and the next request reads
 * (and waits). A failed background read is logged and leaves the entry to expire at its bound.
 */
export class RefreshingCache<V> {
  private entries: TtlCache<Entry<V>>;
  /** Counts `forget` calls: a read begun before one must not store what it read. */
  private generation = 0;

  constructor(private readonly options: RefreshingCacheOptions<V>) {
    this.entries = new TtlCache<Entry<V>>(options.maxEntries);
  }

  async get(key: string, now = Date.now()): Promise<V> {
    const cached = this.entries.get(key, now);
    if (cached.hit) {
      if (now >= cached.value.refreshAt) this.refresh(key, cached.value, now);
      return cached.value.value;
    }
    const generation = this.generation;
    const value = await this.options.read(key);
    if (generation === this.generation) this.remember(key, value, now);
    return value;
  }

  /** Forgets every entry, and what reads under way will bring: after a write through the owner. */
  forget(): void {
    this.generation++;
    this.entries = new TtlCache<Entry<V>>(this.options.maxEntries);
  }

  private refresh(key: string, entry: Entry<V>, startedAt: number): void {
    entry.refreshAt = Infinity;
    this.options.read(key).then(
      (value) => {
        // Only over the entry it refreshes: not after a `forget` (a new map), nor over an
        // entry read later.
        const current = this.entries.get(key, startedAt);
        if (current.hit && current.value === entry) this.remember(key, value, startedAt);
      },
      (error: unknown) => {
        const code = (error as { code?: unknown }).code ?? (error as Error).name;
        console.error(
          `${this.options.name}: reading a remembered entry again failed (${String(code)}); it expires at its bound`,
        );
      },
    );
  }

  private remember(key: string, value: V, readAt: number): void {
    const lifetimeMs = this.options.lifetimeMs(value);
    if (lifetimeMs <= 0) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { value, refreshAt: readAt + lifetimeMs / 2 }, lifetimeMs, readAt);
  }
}
