import { TableClient } from '@azure/data-tables';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { parseSettings } from '../../shared/config/settings';
import { FeedCache } from '../../shared/feeds/feedCache';
import { createFeed, updateFeed } from '../../shared/feeds/feedTable';
import { createStorageClients, ensureStorage } from '../../shared/storage/clients';

/**
 * The feed cache on real storage, with no host: this process's feed writes go through it and show
 * at once, while a write made beside it (another instance, the CLI) waits for the short lifetime.
 */
let azurite: RunningAzurite;
let table: TableClient;
const SETTINGS = { SYMFEED_MISS_CACHE_SECONDS: 2 };

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  const storage = createStorageClients(
    parseSettings({ AzureWebJobsStorage: azurite.connectionString }).storage,
  );
  await ensureStorage(storage);
  table = storage.feedsTable;
}, 60_000);
afterAll(() => azurite?.stop());

it('shows the feed writes made through it at once', async () => {
  const feeds = new FeedCache(table, SETTINGS);
  expect(await feeds.feed('through')).toBeUndefined();
  await feeds.create({ name: 'through', visibility: 'public' });
  expect(await feeds.feed('through')).toMatchObject({ visibility: 'public' });
  await feeds.update('through', { visibility: 'private' });
  expect(await feeds.feed('through')).toMatchObject({ visibility: 'private' });
  await feeds.delete('through');
  expect(await feeds.feed('through')).toBeUndefined();
});

it('shows a write made beside it only once what it remembers expires', async () => {
  const feeds = new FeedCache(table, SETTINGS);
  await createFeed(table, { name: 'beside', visibility: 'public' });
  expect(await feeds.feed('beside')).toMatchObject({ visibility: 'public' });
  await updateFeed(table, 'beside', { visibility: 'private' });
  expect(await feeds.feed('beside')).toMatchObject({ visibility: 'public' });
});

it('does not keep what a read begun before one of its writes read', async () => {
  await createFeed(table, { name: 'raced', visibility: 'public' });
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let paused = false;
  // The first read of the feed gets the old settings, then returns only after the write is done.
  const slowFirstRead = new Proxy(table, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'getEntity' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(
          target,
          args,
        )) as unknown;
        if (!paused) {
          paused = true;
          await released;
        }
        return result;
      };
    },
  });
  const feeds = new FeedCache(slowFirstRead, SETTINGS);
  const before = feeds.feed('raced');
  await feeds.update('raced', { visibility: 'private' });
  release();
  expect(await before).toMatchObject({ visibility: 'public' });
  expect(await feeds.feed('raced')).toMatchObject({ visibility: 'private' });
});
