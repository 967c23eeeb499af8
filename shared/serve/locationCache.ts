import { Settings } from '../config/settings';
import { FeedCache } from '../feeds/feedCache';
import { Feed } from '../feeds/feedTable';
import { FoundLocation, findLocation } from '../index/keyTable';
import { StorageClients } from '../storage/clients';
import { TtlCache } from '../util/ttlCache';

const MAX_CACHED_KEYS = 100_000;
const MAX_HIDDEN_PACKAGES = 10_000;
/** Longer than any delete runs: once its rows are gone, the package is not found anyway. */
const HIDDEN_MS = 24 * 3600 * 1000;

/**
 * Key -> location lookups with a short memory. A location can change (a package is re-indexed or
 * deleted and the next candidate wins), so hits live for SYMFEED_LOCATION_CACHE_SECONDS and misses
 * for SYMFEED_MISS_CACHE_SECONDS; the indexer and the delete path of this process invalidate what
 * they change at once. An aggregate's members come from the feed cache.
 */
export class LocationCache {
  // Hits and misses live for different times; apart, each cache lets its expired entries go.
  private readonly hits = new TtlCache<FoundLocation>(MAX_CACHED_KEYS);
  private readonly misses = new TtlCache<undefined>(MAX_CACHED_KEYS);
  /** Packages this process is deleting ("{feed}\n{packageUid}"): their keys resolve past them. */
  private readonly hiddenPackages = new TtlCache<true>(MAX_HIDDEN_PACKAGES);

  constructor(
    private readonly storage: Pick<StorageClients, 'symbolKeysTable'>,
    private readonly feeds: Pick<FeedCache, 'leafMembers'>,
    private readonly settings: Pick<
      Settings,
      'SYMFEED_LOCATION_CACHE_SECONDS' | 'SYMFEED_MISS_CACHE_SECONDS'
    >,
  ) {}

  /**
   * The location a feed serves a key from. An aggregate serves the union of its members: an
   * explicit key of any member first, then a derived one, then the members in order, each by its
   * own rule (files fetched from upstreams last, as within a feed).
   */
  async resolve(feed: Feed, key: string): Promise<FoundLocation | undefined> {
    if (feed.members.length === 0) return this.location(feed.name, key);
    const members = await this.feeds.leafMembers(feed);
    const candidates = await Promise.all(members.map((member) => this.location(member, key)));
    return (
      candidates.find((c) => c?.source === 'explicit') ??
      candidates.find((c) => c?.source === 'derived') ??
      candidates.find((c) => c !== undefined)
    );
  }

  private async location(feed: string, key: string): Promise<FoundLocation | undefined> {
    const id = `${feed}\n${key}`;
    const hidden = (packageUid: string) => this.hiddenPackages.get(`${feed}\n${packageUid}`).hit;
    const cached = this.hits.get(id);
    if (cached.hit && !hidden(cached.value.packageUid)) return cached.value;
    if (!cached.hit && this.misses.get(id).hit) return undefined;
    const location = await findLocation(this.storage.symbolKeysTable, feed, key, hidden);
    if (location) {
      // Without a small file's data: 100,000 keys of 16 KiB would be 1.6 GB. Once served, the
      // file is among the hot files, bounded by bytes.
      const { inline: _inline, ...kept } = location;
      this.hits.set(id, kept, this.settings.SYMFEED_LOCATION_CACHE_SECONDS * 1000);
    } else this.misses.set(id, undefined, this.settings.SYMFEED_MISS_CACHE_SECONDS * 1000);
    return location;
  }

  /** A package this process is deleting: its keys answer as the next candidate, or as gone, at once. */
  hidePackage(feed: string, packageUid: string): void {
    this.hiddenPackages.set(`${feed}\n${packageUid}`, true, HIDDEN_MS);
  }

  invalidate(feed: string, keys: readonly string[]): void {
    for (const key of keys) {
      this.hits.delete(`${feed}\n${key}`);
      this.misses.delete(`${feed}\n${key}`);
    }
  }
}
