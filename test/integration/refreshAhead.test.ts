import { TableClient } from '@azure/data-tables';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePorts } from '../../local/ports';
import { parseSettings } from '../../shared/config/settings';
import { FEED_SETTINGS_SECONDS, FeedCache } from '../../shared/feeds/feedCache';
import { createFeed } from '../../shared/feeds/feedTable';
import { TokenCache } from '../../shared/feeds/tokenCache';
import { createToken } from '../../shared/feeds/tokens';
import { createStorageClients, ensureStorage } from '../../shared/storage/clients';

/**
 * A steady stream of requests to a private feed, on real storage, for longer than two bounds: the
 * feed's settings and the token are read again within every bound, but in the background, so no
 * request after the first waits on one of those reads.
 */
let azurite: RunningAzurite;
let feedsTable: TableClient;
let tokensTable: TableClient;

/** Each point read of a settings or token row: when it began and when it ended. */
interface Read {
  readonly table: string;
  readonly began: number;
  ended?: number;
}
const reads: Read[] = [];
/** Storage answers after this long, so a request that awaits a read cannot hide it. */
const READ_MS = 40;

function counted(table: TableClient): void {
  const getEntity = table.getEntity.bind(table);
  table.getEntity = (async (...args: Parameters<typeof getEntity>) => {
    const read: Read = { table: table.tableName, began: performance.now() };
    reads.push(read);
    try {
      await new Promise((resolve) => setTimeout(resolve, READ_MS));
      return await getEntity(...args);
    } finally {
      read.ended = performance.now();
    }
  }) as typeof table.getEntity;
}

beforeAll(async () => {
  const [blob, queue, table] = await freePorts(3);
  azurite = await startAzurite({ ports: { blob: blob!, queue: queue!, table: table! } });
  const storage = createStorageClients(
    parseSettings({ AzureWebJobsStorage: azurite.connectionString }).storage,
  );
  await ensureStorage(storage);
  feedsTable = storage.feedsTable;
  tokensTable = storage.tokensTable;
  counted(feedsTable);
  counted(tokensTable);
}, 60_000);
afterAll(() => azurite?.stop());

it('reads settings and tokens in use again within the bound, with no request waiting on it', async () => {
  await createFeed(feedsTable, { name: 'steady', visibility: 'private' });
  const { token } = await createToken(tokensTable, { feed: 'steady', scopes: ['read'] });
  const feeds = new FeedCache(feedsTable, { SYMFEED_MISS_CACHE_SECONDS: 60 });
  const tokens = new TokenCache(tokensTable);
  reads.length = 0;

  const start = performance.now();
  const streamMs = 2 * FEED_SETTINGS_SECONDS * 1000 + 1_500;
  /** Requests after the first during which a read ended: they waited on it. */
  const waited: number[] = [];
  for (let request = 0; performance.now() - start < streamMs; request++) {
    const began = performance.now();
    expect(await feeds.feed('steady')).toMatchObject({ visibility: 'private' });
    expect((await tokens.check(token)).valid).toBe(true);
    const ended = performance.now();
    if (request > 0 && reads.some((read) => read.ended! >= began && read.ended! <= ended)) {
      waited.push(Math.round(began - start));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const end = performance.now();

  expect(waited).toEqual([]);
  for (const table of [feedsTable.tableName, tokensTable.tableName]) {
    const began = reads.filter((read) => read.table === table).map((read) => read.began);
    // Every moment of the stream was decided by a read begun less than the bound before it.
    const gaps = [...began, end].slice(1).map((at, i) => at - began[i]!);
    expect(Math.max(...gaps)).toBeLessThan(FEED_SETTINGS_SECONDS * 1000);
    expect(began.length).toBeGreaterThanOrEqual(3);
  }
}, 30_000);
