import { TableClient } from '@azure/data-tables';
import { Settings } from '../config/settings';
import { RefreshingCache } from '../util/refreshingCache';
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
 * them, so the bound is short: a feed in use is read again in the background before it expires,
 * so that requests do not wait on that read.
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
  private readonly feeds: RefreshingCache<Feed | undefined>;

  constructor(
    private readonly table: TableClient,
    settings: Pick<Settings, 'SYMFEED_MISS_CACHE_SECONDS'>,
  ) {
    const missSeconds = Math.min(settings.SYMFEED_MISS_CACHE_SECONDS, FEED_SETTINGS_SECONDS);
    this.feeds = new RefreshingCache({
      maxEntries: MAX_CACHED_FEEDS,
      name: 'feed settings',
      read: (name) => getFeed(table, name),
      lifetimeMs: (feed) => (feed ? FEED_SETTINGS_SECONDS : missSeconds) * 1000,
    });
  }

  feed(name: string): Promise<Feed | undefined> {
    return this.feeds.get(name);
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
      this.feeds.forget();
    }
  }
}
