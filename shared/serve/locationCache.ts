import { Settings } from '../config/settings';
import { Feed, getFeed, MAX_AGGREGATE_DEPTH } from '../feeds/feedTable';
import { findLocation } from '../index/keyTable';
import { EntryLocation, KeySource } from '../index/location';
import { StorageClients } from '../storage/clients';
import { TtlCache } from '../util/ttlCache';

const MAX_CACHED_KEYS = 100_000;
const MAX_CACHED_FEEDS = 1_000;
const MAX_HIDDEN_PACKAGES = 10_000;
/** Longer than any delete runs: once its rows are gone, the package is not found anyway. */
const HIDDEN_MS = 24 * 3600 * 1000;
/**
 * How long a feed's settings (visibility, members) are remembered: the bound within which a
 * change made elsewhere (another instance, the CLI) reaches this process. Access is decided by
 * them, so the bound is short; reading them costs one point read per feed and interval.
 */
export const FEED_SETTINGS_SECONDS = 5;

export type ResolvedLocation = EntryLocation & { readonly source: KeySource };

/**
 * Key -> location and feed lookups with a short memory. A location can change (a package is
 * re-indexed or deleted and the next candidate wins), so hits live for
 * SYMFEED_LOCATION_CACHE_SECONDS and misses for SYMFEED_MISS_CACHE_SECONDS; the indexer and the
 * delete path of this process invalidate what they change at once. Feed settings live for
 * FEED_SETTINGS_SECONDS, and whatever changes a feed in this process forgets them at once.
 */
export class LocationCache {
  // Hits and misses live for different times; apart, each cache lets its expired entries go.
  private readonly hits = new TtlCache<ResolvedLocation>(MAX_CACHED_KEYS);
  private readonly misses = new TtlCache<undefined>(MAX_CACHED_KEYS);
  private feeds = new TtlCache<Feed | undefined>(MAX_CACHED_FEEDS);
  /** Packages this process is deleting ("{feed}\n{packageUid}"): their keys resolve past them. */
  private readonly hiddenPackages = new TtlCache<true>(MAX_HIDDEN_PACKAGES);
  /** Counts forgetFeeds calls: a read begun before one must not store what it read. */
  private feedGeneration = 0;

  constructor(
    private readonly storage: StorageClients,
    private readonly settings: Settings,
  ) {}

  async feed(name: string): Promise<Feed | undefined> {
    const cached = this.feeds.get(name);
    if (cached.hit) return cached.value;
    const generation = this.feedGeneration;
    const feed = await getFeed(this.storage.feedsTable, name);
    if (generation === this.feedGeneration) {
      const seconds = feed
        ? FEED_SETTINGS_SECONDS
        : Math.min(this.settings.SYMFEED_MISS_CACHE_SECONDS, FEED_SETTINGS_SECONDS);
      this.feeds.set(name, feed, seconds * 1000);
    }
    return feed;
  }

  /**
   * After a feed was created, changed or deleted in this process: every feed is read afresh, so
   * an aggregate over the feed follows too. Changes are rare; the reads that follow are cheap.
   */
  forgetFeeds(): void {
    this.feedGeneration++;
    this.feeds = new TtlCache<Feed | undefined>(MAX_CACHED_FEEDS);
  }

  /**
   * The location a feed serves a key from. An aggregate serves the union of its members: an
   * explicit key of any member first, then the members in order, each by its own rule.
   */
  async resolve(feed: Feed, key: string): Promise<ResolvedLocation | undefined> {
    if (feed.members.length === 0) return this.location(feed.name, key);
    const members = await this.leafMembers(feed);
    const candidates = await Promise.all(members.map((member) => this.location(member, key)));
    return (
      candidates.find((c) => c?.source === 'explicit') ?? candidates.find((c) => c !== undefined)
    );
  }

  /** The plain feeds under an aggregate, in precedence order, nested aggregates flattened in place. */
  private async leafMembers(feed: Feed): Promise<string[]> {
    const leaves: string[] = [];
    const walk = async (names: readonly string[], depth: number) => {
      for (const name of names) {
        const member = await this.feed(name);
        if (!member) continue;
        if (member.members.length === 0) {
          if (!leaves.includes(name)) leaves.push(name);
        } else if (depth < MAX_AGGREGATE_DEPTH) {
          await walk(member.members, depth + 1);
        }
      }
    };
    await walk(feed.members, 1);
    return leaves;
  }

  private async location(feed: string, key: string): Promise<ResolvedLocation | undefined> {
    const id = `${feed}\n${key}`;
    const hidden = (packageUid: string) => this.hiddenPackages.get(`${feed}\n${packageUid}`).hit;
    const cached = this.hits.get(id);
    if (cached.hit && !hidden(cached.value.packageUid)) return cached.value;
    if (!cached.hit && this.misses.get(id).hit) return undefined;
    const location = await findLocation(this.storage.symbolKeysTable, feed, key, hidden);
    if (location) this.hits.set(id, location, this.settings.SYMFEED_LOCATION_CACHE_SECONDS * 1000);
    else this.misses.set(id, undefined, this.settings.SYMFEED_MISS_CACHE_SECONDS * 1000);
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
