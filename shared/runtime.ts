import { settings, Settings } from './config/settings';
import { FeedCache } from './feeds/feedCache';
import { TokenCache } from './feeds/tokenCache';
import { MissedKeys } from './misses/missedKeys';
import { HotFiles } from './serve/hotFiles';
import { LocationCache } from './serve/locationCache';
import { createStorageClients, StorageClients } from './storage/clients';
import { Upstreams } from './upstream/askUpstreams';

/**
 * What one process builds once and its function handlers share: settings, storage clients,
 * caches. Only the registrations (functions/) see it whole; each handler is given the ports it
 * uses.
 */
export interface Runtime {
  readonly settings: Settings;
  readonly storage: StorageClients;
  readonly feeds: FeedCache;
  readonly tokens: TokenCache;
  readonly locations: LocationCache;
  readonly hotFiles: HotFiles;
  readonly upstreams: Upstreams;
  readonly misses: MissedKeys;
}

let current: Runtime | undefined;

export function createRuntime(config: Settings): Runtime {
  const storage = createStorageClients(config.storage);
  const feeds = new FeedCache(storage.feedsTable, config);
  const locations = new LocationCache(storage, feeds, config);
  return {
    settings: config,
    storage,
    feeds,
    tokens: new TokenCache(storage.tokensTable),
    locations,
    hotFiles: new HotFiles(config.SYMFEED_HOT_FILE_BYTES, config.SYMFEED_HOT_CACHE_BYTES),
    upstreams: new Upstreams({
      settings: config,
      storage,
      feeds,
      keyStored: (feed, key) => locations.invalidate(feed, [key]),
    }),
    misses: new MissedKeys(storage.missesContainer),
  };
}

/** The process-wide runtime, built on first use from validated settings. */
export function runtime(): Runtime {
  current ??= createRuntime(settings());
  return current;
}
