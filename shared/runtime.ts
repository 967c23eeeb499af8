import { settings, Settings } from './config/settings';
import { HotFiles } from './serve/hotFiles';
import { LocationCache } from './serve/locationCache';
import { createStorageClients, StorageClients } from './storage/clients';

/** What every function handler shares within one process: settings, storage clients, caches. */
export interface Runtime {
  readonly settings: Settings;
  readonly storage: StorageClients;
  readonly locations: LocationCache;
  readonly hotFiles: HotFiles;
}

let current: Runtime | undefined;

export function createRuntime(config: Settings): Runtime {
  const storage = createStorageClients(config.storage);
  return {
    settings: config,
    storage,
    locations: new LocationCache(storage, config),
    hotFiles: new HotFiles(config.SYMFEED_HOT_FILE_BYTES, config.SYMFEED_HOT_CACHE_BYTES),
  };
}

/** The process-wide runtime, built on first use from validated settings. */
export function runtime(): Runtime {
  current ??= createRuntime(settings());
  return current;
}
