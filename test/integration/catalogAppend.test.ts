import { ContainerClient } from '@azure/storage-blob';
import { startAzurite, RunningAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { appendCatalog, catalogItems, readCatalogBlob } from '../../shared/catalog/appendCatalog';
import {
  CatalogEvent,
  CatalogIndex,
  CatalogPage,
  pagePath,
} from '../../shared/catalog/catalogShapes';
import { CONTAINERS, createStorageClients } from '../../shared/storage/clients';

let azurite: RunningAzurite;
let container: ContainerClient;

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  container = createStorageClients(azurite.connection).blobs.getContainerClient(CONTAINERS.catalog);
  await container.createIfNotExists();
});

afterAll(async () => {
  await azurite?.stop();
});

function event(n: number, state: CatalogEvent['state'] = 'succeeded'): CatalogEvent {
  return {
    packageUid: n.toString(16).padStart(32, '0'),
    id: `Lib${n}`,
    version: `1.0.${n}`,
    state,
    blobEtag: `"etag${n}"`,
    keyCount: n,
    packageHash: 'aGFzaA==',
    packageSize: 100 + n,
  };
}

it('keeps 20 concurrent appends in order, once each, in pages of at most the limit', async () => {
  const ports = { container, pageLimit: 5 };
  const events = Array.from({ length: 20 }, (_, n) => event(n));
  await Promise.all(events.map((e) => appendCatalog(ports, 'race', e)));

  const items = await catalogItems(container, 'race');
  expect(items.map((item) => item['symfeed:packageUid']).sort()).toEqual(
    events.map((e) => e.packageUid).sort(),
  );
  const stamps = items.map((item) => item.commitTimeStamp);
  // One commit per timestamp, strictly increasing along the pages.
  for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
  expect(new Set(items.map((item) => item.commitId)).size).toBe(20);

  const index = (await readCatalogBlob<CatalogIndex>(container, 'race', 'index.json'))!.doc;
  expect(index.items.map((page) => page.count)).toEqual([5, 5, 5, 5]);
  expect(index.commitTimeStamp).toBe(stamps[19]);
  for (const [number, entry] of index.items.entries()) {
    const page = (await readCatalogBlob<CatalogPage>(container, 'race', pagePath(number)))!.doc;
    expect(page.count).toBeLessThanOrEqual(5);
    expect(page.count).toBe(entry.count);
    expect(page.commitTimeStamp).toBe(entry.commitTimeStamp);
  }
  // Every item's leaf is there.
  for (const item of items) {
    expect(await readCatalogBlob(container, 'race', item['@id'])).toBeDefined();
  }
}, 60_000);

it('does not append an event twice when it is appended again', async () => {
  const ports = { container, pageLimit: 5 };
  const first = await appendCatalog(ports, 'again', event(1));
  await appendCatalog(ports, 'again', event(2));
  const second = await appendCatalog(ports, 'again', event(1));
  expect(second).toEqual(first);
  await appendCatalog(ports, 'again', event(1, 'deleted'));
  const items = await catalogItems(container, 'again');
  expect(items.map((item) => [item['nuget:id'], item['@type']])).toEqual([
    ['Lib1', 'nuget:PackageDetails'],
    ['Lib2', 'nuget:PackageDetails'],
    ['Lib1', 'nuget:PackageDelete'],
  ]);
});
