import { Settings } from '../config/settings';
import { findLocation } from '../index/keyTable';
import { EntryLocation } from '../index/location';
import { Feed, getFeed } from '../feeds/feedTable';
import { StorageClients } from '../storage/clients';
import { TtlCache } from '../util/ttlCache';

const MAX_CACHED_KEYS = 100_000;
const MAX_CACHED_FEEDS = 1_000;
const FEED_TTL_MS = 30_000;

/**
 * Key -> location and feed lookups with a short memory. A location can change (a package is
 * re-indexed or deleted and the next candidate wins), so hits live for
 * SYMFEED_LOCATION_CACHE_SECONDS and misses for SYMFEED_MISS_CACHE_SECONDS; the indexer and the
 * delete path of this process invalidate what they change at once.
 */
export class LocationCache {
  private readonly locations = new TtlCache<EntryLocation | undefined>(MAX_CACHED_KEYS);
  private readonly feeds = new TtlCache<Feed | undefined>(MAX_CACHED_FEEDS);

  constructor(
    private readonly storage: StorageClients,
    private readonly settings: Settings,
  ) {}

  async feed(name: string): Promise<Feed | undefined> {
    const cached = this.feeds.get(name);
    if (cached.hit) return cached.value;
    const feed = await getFeed(this.storage.feedsTable, name);
    this.feeds.set(
      name,
      feed,
      feed ? FEED_TTL_MS : this.settings.SYMFEED_MISS_CACHE_SECONDS * 1000,
    );
    return feed;
  }

  async location(feed: string, key: string): Promise<EntryLocation | undefined> {
    const id = `${feed}\n${key}`;
    const cached = this.locations.get(id);
    if (cached.hit) return cached.value;
    const location = await findLocation(this.storage.symbolKeysTable, feed, key);
    const ttl = location
      ? this.settings.SYMFEED_LOCATION_CACHE_SECONDS
      : this.settings.SYMFEED_MISS_CACHE_SECONDS;
    this.locations.set(id, location, ttl * 1000);
    return location;
  }

  invalidate(feed: string, keys: readonly string[]): void {
    for (const key of keys) this.locations.delete(`${feed}\n${key}`);
  }
}
