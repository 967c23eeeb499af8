import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { packageUidFor } from '../../shared/packages/packageUid';
import { ensureStorage } from '../../shared/storage/clients';
import { missingResourceOf } from '../../shared/storage/faults';
import { startStack, Stack } from '../support/stack';
import { smallAndLarge } from '../support/zips';

/**
 * On Azure nothing creates symfeed's containers, tables and queues at run time. Each test deletes
 * one for real in Azurite: whatever needed it must answer 503 with a log line naming it, never
 * read its absence as an absent feed, token, package or key, and /health must name it.
 */
const ADMIN = 'admin-token-of-at-least-32-characters';
const small = Buffer.from('a small file\n'.repeat(50));
const large = Buffer.alloc(300 * 1024, 7);
let stack: Stack;
let readToken: string;
let logged: string[];
const uid = packageUidFor('default', 'files.zip');

beforeAll(async () => {
  stack = await startStack({
    SYMFEED_ADMIN_TOKEN: ADMIN,
    // Every request asks storage: nothing remembered hides the missing resource.
    SYMFEED_LOCATION_CACHE_SECONDS: '0',
    SYMFEED_MISS_CACHE_SECONDS: '0',
    // Nor a small file's data in its key row: the small file is read from the package too.
    SYMFEED_INLINE_FILE_BYTES: '0',
  });
  await restore();
});

/** Deleting a table or container took its rows or blobs: everything the tests use, afresh. */
async function restore(): Promise<void> {
  const { storage } = stack.rt;
  await ensureStorage(storage);
  await ensureFeed(storage.feedsTable, { name: 'default', visibility: 'public' });
  await ensureFeed(storage.feedsTable, { name: 'secret', visibility: 'private' });
  ({ token: readToken } = await createToken(storage.tokensTable, {
    feed: 'secret',
    scopes: ['read'],
  }));
  const zip = await smallAndLarge(small, large);
  await stack.upload('files.zip', zip);
  expect((await stack.indexed('files.zip')).state).toBe('succeeded');
}

afterAll(() => stack?.stop());

beforeEach(() => {
  logged = [];
  jest.spyOn(console, 'error').mockImplementation((line: string) => void logged.push(line));
});

afterEach(async () => {
  jest.restoreAllMocks();
  await restore();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${stack.host.url}${path}`, { headers });
const admin = (path: string, method = 'GET') =>
  fetch(`${stack.host.url}/manage${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    ...(method === 'DELETE' ? { body: '{}' } : {}),
  });

async function expect503(response: Response, missing: string): Promise<void> {
  const body = await response.text();
  // Not a 503 of another cause either ("the package holding this file is changing").
  expect(`${response.status} ${body}`).toMatch(/^503 .*storage is unavailable/is);
  expect(response.headers.get('retry-after')).toBeTruthy();
  expect(logged.join('\n')).toContain(`${missing} does not exist`);
}

it('a missing feeds table is no "feed does not exist"', async () => {
  await stack.rt.storage.feedsTable.deleteTable();
  await expect503(await get('/F/never-asked/symbols/some/key/file'), 'table "feeds"');
});

it('a missing tokens table is no 401', async () => {
  await stack.rt.storage.tokensTable.deleteTable();
  await expect503(
    await get('/F/secret/symbols/some/key/file', { Authorization: `Bearer ${readToken}` }),
    'table "tokens"',
  );
});

it('a missing key table is no miss, and a transaction on it no lost race', async () => {
  await stack.rt.storage.symbolKeysTable.deleteTable();
  await expect503(await get('/F/default/symbols/never/asked/for'), 'table "symbolkeys"');
  // The key table reads a transaction's 404 as a row another writer changed.
  const refused = await stack.rt.storage.symbolKeysTable
    .submitTransaction([['delete', { partitionKey: 'p', rowKey: 'r' }]])
    .catch((error: unknown) => error);
  expect(missingResourceOf(refused)).toEqual({ kind: 'table', name: 'symbolkeys' });
  expect((refused as { statusCode?: number }).statusCode).toBeUndefined();
});

it('a missing packages table is no "package not found"', async () => {
  await stack.rt.storage.packagesTable.deleteTable();
  await expect503(await admin(`/feeds/default/packages/${uid}`, 'DELETE'), 'table "packages"');
});

it('a missing status container is no "package not found"', async () => {
  await stack.rt.storage.statusContainer.delete();
  await expect503(await admin(`/feeds/default/packages/${uid}`), 'container "status"');
});

it('a missing deletes queue answers a delete with 503', async () => {
  await stack.rt.storage.deletesQueue.delete();
  await expect503(await admin(`/feeds/default/packages/${uid}`, 'DELETE'), 'queue "deletes"');
});

it('a missing packages container is no stale location, for small and large entries', async () => {
  await stack.rt.storage.packagesContainer.delete();
  // The large one first: it streams from blobRange's own read, which must tell it too.
  await expect503(await get('/F/default/symbols/large/1/large'), 'container "packages"');
  await expect503(await get('/F/default/symbols/small/1/small'), 'container "packages"');
});

it('/health names every missing container, table and queue', async () => {
  const { storage } = stack.rt;
  expect((await get('/health')).status).toBe(200);
  await Promise.all([
    storage.symbolKeysTable.deleteTable(),
    storage.statusContainer.delete(),
    storage.deletesQueue.delete(),
  ]);
  const response = await get('/health');
  const body = await response.text();
  expect(response.status).toBe(503);
  expect(body).toContain('storage is missing: ');
  expect(body).toContain('blob: missing (container "status")');
  expect(body).toContain('queue: missing (queue "deletes")');
  expect(body).toContain('table: missing (table "symbolkeys")');
  await restore();
  expect((await get('/health')).status).toBe(200);
});
