import { TableClient } from '@azure/data-tables';
import { Settings } from '../config/settings';
import { TtlCache } from '../util/ttlCache';
import {
  createFeed,
  deleteFeed,
  Feed,
  getFeed,
  MAX_AGGREGATE_DEPTH,
  updateFeed,
} from './feedTable';

const MAX_CACHED_FEEDS = 1_000;
/**
 * How long a feed's settings (visibility, members) are remembered: the bound within which a
 * change made elsewhere (another instance, the CLI) reaches this process. Access is decided by
 * them, so the bound is short; reading them costs one point read per feed and interval.
 */
export const FEED_SETTINGS_SECONDS = 5;

/**
 * This process's memory of feed settings, and the way its feed writes go: a feed created, changed
 * or deleted here is written through the cache, which then reads every feed afresh, so access
 * follows the change at once rather than when the old settings expire. Every feed is forgotten,
 * not only the one written, so that an aggregate over it follows too; changes are rare and the
 * reads that follow are cheap.
 */
export class FeedCache {
  private feeds = new TtlCache<Feed | undefined>(MAX_CACHED_FEEDS);
  /** Counts writes: a read begun before one must not store what it read. */
  private generation = 0;

  constructor(
    private readonly table: TableClient,
    private readonly settings: Pick<Settings, 'SYMFEED_MISS_CACHE_SECONDS'>,
  ) {}

  async feed(name: string): Promise<Feed | undefined> {
    const cached = this.feeds.get(name);
    if (cached.hit) return cached.value;
    const generation = this.generation;
    const feed = await getFeed(this.table, name);
    if (generation === this.generation) {
      const seconds = feed
        ? FEED_SETTINGS_SECONDS
        : Math.min(this.settings.SYMFEED_MISS_CACHE_SECONDS, FEED_SETTINGS_SECONDS);
      this.feeds.set(name, feed, seconds * 1000);
    }
    return feed;
  }

  /** The plain feeds under an aggregate, in precedence order, nested aggregates flattened in place. */
  async leafMembers(feed: Feed): Promise<string[]> {
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

  create(input: unknown): Promise<Feed> {
    return this.writing(() => createFeed(this.table, input));
  }

  /** Changes the given settings of an existing feed; the rest stay. */
  update(name: string, changes: Record<string, unknown>): Promise<Feed> {
    return this.writing(() => updateFeed(this.table, name, changes));
  }

  delete(name: string): Promise<void> {
    return this.writing(() => deleteFeed(this.table, name));
  }

  /** Forgets after the write, whatever its outcome: a write that failed may still have landed. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.generation++;
      this.feeds = new TtlCache<Feed | undefined>(MAX_CACHED_FEEDS);
    }
  }
}
