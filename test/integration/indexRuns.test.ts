import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { settings } from '../../shared/config/settings';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { findLocation } from '../../shared/index/keyTable';
import { indexPackage, IndexerDeps } from '../../shared/indexing/indexPackage';
import { getPackageRow, listPackages } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { readStatusDocument } from '../../shared/packages/statusDocument';
import { createRuntime, Runtime } from '../../shared/runtime';
import { ensureStorage, StorageClients } from '../../shared/storage/clients';
import { Readable } from 'node:stream';
import { RestError } from '@azure/data-tables';
import { receivePush } from '../../shared/nuget/push';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * Indexing runs that overlap or fail, on real storage and with no host: every run here is started
 * by the test, so the order of two runs of one package is the test's to choose. Where a run must
 * be paused at one step, a real client is wrapped so that the other run goes first there.
 */
let azurite: RunningAzurite;
let rt: Runtime;

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  process.env.AzureWebJobsStorage = azurite.connectionString;
  rt = createRuntime(settings());
  await ensureStorage(rt.storage);
  await ensureFeed(rt.storage.feedsTable, { name: 'default', visibility: 'public' });
}, 60_000);
afterAll(() => azurite?.stop());

const deps = (storage: StorageClients = rt.storage): IndexerDeps => ({
  storage,
  settings: rt.settings,
});
const uid = (name: string) => packageUidFor('default', name);

const pkg = (keys: readonly string[], content: string) =>
  makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex(keys.map((clientKey) => ({ clientKey, blobPath: 'f.txt' }))),
    },
    { name: 'f.txt', data: content },
  ]);

async function upload(name: string, bytes: Buffer): Promise<string> {
  const blob = rt.storage.packagesContainer.getBlockBlobClient(`default/${name}`);
  return (await blob.uploadData(bytes)).etag ?? '';
}

/** A real client whose method `method` runs `before` once, ahead of its first call. */
function pausedAt<T extends object>(client: T, method: keyof T, before: () => Promise<void>): T {
  let ran = false;
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (!ran) {
          ran = true;
          await before();
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** A real client whose method `method` fails its `nth` call as storage does, the others going through. */
function failingAt<T extends object>(client: T, method: keyof T, nth: number): T {
  let calls = 0;
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (++calls === nth) {
          throw new RestError('injected: the service failed this request', { statusCode: 500 });
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** Every key row of a package, as "key|blob ETag": a test may scan the table, symfeed never does. */
async function rowsOf(packageUid: string): Promise<string[]> {
  const rows: string[] = [];
  for await (const row of rt.storage.symbolKeysTable.listEntities<{
    key: string;
    packageUid: string;
    location: string;
  }>()) {
    if (row.packageUid !== packageUid) continue;
    const { blobEtag } = JSON.parse(row.location) as { blobEtag: string };
    rows.push(`${row.key}|${blobEtag}`);
  }
  return rows.sort();
}

async function served(key: string): Promise<string | undefined> {
  return (await findLocation(rt.storage.symbolKeysTable, 'default', key))?.blobEtag;
}

describe('two runs of one package', () => {
  it('an older run that read the package row before a newer run finished does not undo it', async () => {
    const name = 'older-claim.zip';
    await upload(name, await pkg(['oc-a', 'oc-b'], 'one'));
    let newer = '';
    // The older run has read the blob's ETag and the package row; then the blob is replaced and
    // the newer content's run goes from start to end.
    const table = pausedAt(rt.storage.packagesTable, 'getEntity', async () => {
      newer = await upload(name, await pkg(['oc-b', 'oc-c'], 'two, longer'));
      expect(await indexPackage(deps(), 'default', name)).toMatchObject({
        kind: 'indexed',
        state: 'succeeded',
      });
    });
    await indexPackage(deps({ ...rt.storage, packagesTable: table }), 'default', name);

    const row = await getPackageRow(rt.storage.packagesTable, 'default', uid(name));
    expect(row).toMatchObject({ state: 'succeeded', blobEtag: newer });
    const listed = await listPackages(rt.storage.packagesTable, 'default', 'succeeded');
    expect(listed.map((p) => p.packageUid)).toContain(uid(name));
    expect(await served('oc-a')).toBeUndefined();
    expect(await served('oc-c')).toBe(newer);
  });

  it('an older run whose rows land after a newer run’s leaves the newer content served', async () => {
    const name = 'older-rows.zip';
    const older = await upload(name, await pkg(['or-a', 'or-b'], 'one'));
    let newer = '';
    // The older run has read the whole package and is about to write its rows when the blob is
    // replaced and the newer content's run goes from start to end.
    const keys = pausedAt(rt.storage.symbolKeysTable, 'submitTransaction', async () => {
      newer = await upload(name, await pkg(['or-b', 'or-c'], 'two, longer'));
      expect(await indexPackage(deps(), 'default', name)).toMatchObject({ kind: 'indexed' });
    });
    await indexPackage(deps({ ...rt.storage, symbolKeysTable: keys }), 'default', name);

    expect(newer).not.toBe(older);
    const row = await getPackageRow(rt.storage.packagesTable, 'default', uid(name));
    expect(row).toMatchObject({ state: 'succeeded', blobEtag: newer });
    const doc = await readStatusDocument(rt.storage.statusContainer, 'default', uid(name));
    expect(doc?.blobEtag).toBe(newer);
    expect(doc?.keys.map((k) => k.key)).toEqual(['or-b', 'or-c']);
    // Each key has its candidate and its winner row, both of the newer content.
    expect(await rowsOf(uid(name))).toEqual([
      `or-b|${newer}`,
      `or-b|${newer}`,
      `or-c|${newer}`,
      `or-c|${newer}`,
    ]);
    expect(await served('or-a')).toBeUndefined();
  });
});

describe('a run that fails', () => {
  it('writes no key row after it has failed', async () => {
    const name = 'fails-early.zip';
    const keys = Array.from({ length: 2_000 }, (_, i) => `fe-${i}`);
    await upload(
      name,
      await makeZip([
        {
          name: 'symbol_index.json',
          data: symbolIndex(keys.map((clientKey) => ({ clientKey, blobPath: 'f.txt' }))),
        },
        { name: 'f.txt', data: 'f' },
      ]),
    );
    // Fault injection: storage refuses the third transaction, with others still to go and in flight.
    const table = failingAt(rt.storage.symbolKeysTable, 'submitTransaction', 3);
    await expect(
      indexPackage(deps({ ...rt.storage, symbolKeysTable: table }), 'default', name),
    ).rejects.toMatchObject({ statusCode: 500 });
    const atFailure = (await rowsOf(uid(name))).length;
    // Whatever was in flight when the run failed had finished before it said so.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await rowsOf(uid(name))).length).toBe(atFailure);
    expect(atFailure).toBeLessThan(keys.length);
  });
});

describe('a pushed package', () => {
  it('lists under the id and version its .nuspec states while it is indexed', async () => {
    const form = new FormData();
    const bytes = await makeZip([
      {
        name: 'Early.Name.nuspec',
        data: '<package><metadata><id>Early.Name</id><version>4.5.6</version></metadata></package>',
      },
      { name: 'symbol_index.json', data: symbolIndex([{ clientKey: 'en-key', blobPath: 'f' }]) },
      { name: 'f', data: 'f' },
    ]);
    form.append('package', new Blob([new Uint8Array(bytes)]), 'package.nupkg');
    const request = new Request('http://localhost/', { method: 'PUT', body: form });
    const pushed = await receivePush(rt.storage, {
      feed: 'default',
      owner: 'alice',
      symbols: false,
      contentType: request.headers.get('content-type'),
      body: Readable.fromWeb(request.body as never),
      maxBytes: 1024 * 1024,
      zipLimits: { maxEntries: 100, maxEntryBytes: 1e9, maxCompressionRatio: 100 },
    });
    if (!pushed.ok) throw new Error(pushed.message);
    const name = pushed.blob.slice('default/'.length);
    let whileIndexing;
    const keys = pausedAt(rt.storage.symbolKeysTable, 'submitTransaction', async () => {
      whileIndexing = await getPackageRow(rt.storage.packagesTable, 'default', uid(name));
    });
    await indexPackage(deps({ ...rt.storage, symbolKeysTable: keys }), 'default', name);
    expect(whileIndexing).toMatchObject({ state: 'indexing', id: 'Early.Name', version: '4.5.6' });
  });
});
