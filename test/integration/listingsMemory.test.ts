import { startAzurite, RunningAzurite } from '../../local/azurite';
import { freePorts } from '../../local/ports';
import { idBlobName } from '../../shared/listings/listingShapes';
import { rebuildListings } from '../../shared/listings/materialise';
import { findIds, idUploads } from '../../shared/listings/readListings';
import { putPackageRow } from '../../shared/packages/packageTable';
import {
  createStorageClients,
  ensureStorage,
  LISTINGS_MEMORY,
  StorageClients,
} from '../../shared/storage/clients';
import { azuriteConnection } from '../../shared/storage/connection';
import { recordingProxy, RecordingProxy } from '../support/recordingProxy';
import { packageRow, subfeed } from '../support/packageRows';

/**
 * Two processes over one Azurite, each with its own storage clients and so its own memory of
 * listings: `here` reads its blobs through a proxy that counts them, `elsewhere` writes as another
 * instance (or the CLI) would.
 */
let azurite: RunningAzurite;
let proxy: RecordingProxy;
let here: StorageClients;
let elsewhere: StorageClients;

beforeAll(async () => {
  const [blob, queue, table] = await freePorts(3);
  const ports = { blob: blob!, queue: queue!, table: table! };
  azurite = await startAzurite({ ports });
  proxy = await recordingProxy(`http://127.0.0.1:${blob}`);
  here = createStorageClients(
    azuriteConnection({ ...ports, blob: Number(new URL(proxy.url).port) }),
  );
  elsewhere = createStorageClients(azurite.connection);
  await ensureStorage(elsewhere);
});

afterAll(async () => {
  await proxy?.stop();
  await azurite?.stop();
});

const versionsOf = async (storage: StorageClients, feed: string, id: string) =>
  (await idUploads(storage, subfeed(`${feed},all,original`), undefined, id)).map(
    (v) => v.originalVersion,
  );

/** The GETs `here` made of one listing blob, with their answers. */
const getsOf = (feed: string, key: string) =>
  proxy.exchanges
    .filter((e) => e.method === 'GET' && e.path.endsWith(`/listings/${idBlobName(feed, key)}`))
    .map((e) => e.status);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('shows a listing changed by another instance within the bound, and revalidates with a 304', async () => {
  const ports = { container: elsewhere.listingsContainer, memory: elsewhere.listingsMemory };
  await rebuildListings(ports, 'other', [packageRow('other', 'Foo', '1.0.0')]);
  expect(await versionsOf(here, 'other', 'Foo')).toEqual(['1.0.0']);
  const remembered = await here.listingsMemory.read(
    here.listingsContainer.getBlockBlobClient(idBlobName('other', 'foo')),
  );
  await versionsOf(here, 'other', 'Foo');
  expect(getsOf('other', 'foo')).toEqual([200]);

  // Unchanged after the bound: one conditional GET, answered 304, keeps the parsed document.
  await sleep(LISTINGS_MEMORY.freshMs + 100);
  const revalidated = await here.listingsMemory.read(
    here.listingsContainer.getBlockBlobClient(idBlobName('other', 'foo')),
  );
  expect(revalidated?.doc).toBe(remembered?.doc);
  expect(getsOf('other', 'foo')).toEqual([200, 304]);

  // Changed by the other instance: not seen within the bound, seen after it.
  await putPackageRow(elsewhere, packageRow('other', 'Foo', '2.0.0'));
  expect(await versionsOf(elsewhere, 'other', 'Foo')).toEqual(['1.0.0', '2.0.0']);
  expect(await versionsOf(here, 'other', 'Foo')).toEqual(['1.0.0']);
  await sleep(LISTINGS_MEMORY.freshMs + 100);
  expect(await versionsOf(here, 'other', 'Foo')).toEqual(['1.0.0', '2.0.0']);
  expect(getsOf('other', 'foo')).toEqual([200, 304, 200]);
}, 30_000);

it("shows this process's own writes at once", async () => {
  const ports = { container: here.listingsContainer, memory: here.listingsMemory };
  await rebuildListings(ports, 'own', [packageRow('own', 'Foo', '1.0.0')]);
  const everyId = {
    exact: [],
    terms: [],
    seen: { prerelease: true, semVer2: true, nugetOnly: false },
    skip: 0,
    take: 100,
  };
  const ids = async () =>
    (await findIds(here, subfeed('own,all,original'), undefined, everyId)).ids.map((s) => s.id);
  expect(await versionsOf(here, 'own', 'Foo')).toEqual(['1.0.0']);
  expect(await ids()).toEqual(['Foo']);

  await putPackageRow(here, packageRow('own', 'Foo', '2.0.0'));
  await putPackageRow(here, packageRow('own', 'Bar', '1.0.0'));
  expect(await versionsOf(here, 'own', 'Foo')).toEqual(['1.0.0', '2.0.0']);
  expect(await ids()).toEqual(['Bar', 'Foo']);
});
