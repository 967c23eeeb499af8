import { startAzurite, RunningAzurite } from '../../local/azurite';
import { freePorts } from '../../local/ports';
import { ListingsPorts } from '../../shared/listings/listingShapes';
import {
  packageChanged,
  readIndex,
  readPage,
  rebuildListings,
} from '../../shared/listings/materialise';
import { findIds, findUploads, idUploads, IdQuery } from '../../shared/listings/readListings';
import { registrationIndex } from '../../shared/nuget/registrations';
import {
  putPackageRow,
  replacePackageRow,
  setPackageState,
} from '../../shared/packages/packageTable';
import { createStorageClients, ensureStorage, StorageClients } from '../../shared/storage/clients';
import { packageRow, subfeed } from '../support/packageRows';

let azurite: RunningAzurite;
let storage: StorageClients;

beforeAll(async () => {
  const [blob, queue, table] = await freePorts(3);
  azurite = await startAzurite({ ports: { blob: blob!, queue: queue!, table: table! } });
  storage = createStorageClients(azurite.connection);
  await ensureStorage(storage);
});

afterAll(async () => {
  await azurite?.stop();
});

const everyId = (skip = 0, take = 1000): IdQuery => ({
  exact: [],
  terms: [],
  seen: { prerelease: true, semVer2: true, nugetOnly: false },
  skip,
  take,
});

async function idsOf(segment: string, query = everyId()) {
  return (await findIds(storage, subfeed(segment), undefined, query)).ids.map((s) => s.id);
}

async function uidsOf(segment: string, id: string) {
  return (await idUploads(storage, subfeed(segment), undefined, id)).map((view) => view.uid);
}

it('builds a feed listing from the table the first time it is read, then files changes', async () => {
  const foo = packageRow('built', 'Foo', '1.0.0');
  const bar = packageRow('built', 'Bar', '1.0.0', 'indexing');
  await storage.packagesTable.createEntity({
    partitionKey: 'built',
    rowKey: foo.packageUid,
    ...foo,
  });
  await storage.packagesTable.createEntity({
    partitionKey: 'built',
    rowKey: bar.packageUid,
    ...bar,
  });
  expect(
    await readIndex(
      { container: storage.listingsContainer, memory: storage.listingsMemory },
      'built',
    ),
  ).toBeUndefined();

  expect(await idsOf('built')).toEqual(['Foo']);
  expect(
    await readIndex(
      { container: storage.listingsContainer, memory: storage.listingsMemory },
      'built',
    ),
  ).toBeDefined();
  expect(await idsOf('built,all,indexing')).toEqual(['Bar']);
  expect(await idsOf('built,all,original')).toEqual(['Bar', 'Foo']);

  // Indexed: Bar moves from `indexing` to `succeeded`.
  await setPackageState(storage, 'built', bar.packageUid, 'succeeded');
  expect(await idsOf('built')).toEqual(['Bar', 'Foo']);
  expect(await idsOf('built,all,indexing')).toEqual([]);
  expect(await uidsOf('built', 'bar')).toEqual([bar.packageUid]);

  // Failed: a package that turns out damaged leaves the plain feed for the damaged subfeed.
  await setPackageState(storage, 'built', foo.packageUid, 'damaged');
  expect(await idsOf('built')).toEqual(['Bar']);
  expect(await idsOf('built,all,damaged')).toEqual(['Foo']);
  expect(await uidsOf('built', 'Foo')).toEqual([]);

  // Deleted: gone from `original` too, listed by `deleted`.
  await setPackageState(storage, 'built', foo.packageUid, 'deleted');
  expect(await idsOf('built,all,original')).toEqual(['Bar']);
  expect(await idsOf('built,all,deleted')).toEqual(['Foo']);
});

it('moves an upload between ids when its row names another id, and files new rows', async () => {
  const ports = { container: storage.listingsContainer, memory: storage.listingsMemory };
  await rebuildListings(ports, 'moves', []);
  const pushed = packageRow('moves', 'pushed-name', '1.0.0', 'indexing');
  expect(await replacePackageRow(storage, pushed, undefined)).toBeDefined();
  expect(await idsOf('moves,all,indexing')).toEqual(['pushed-name']);
  const etag = await replacePackageRow(storage, pushed, undefined);
  expect(etag).toBeUndefined();
  await putPackageRow(storage, { ...pushed, id: 'Real.Id', state: 'succeeded' });
  expect(await idsOf('moves,all,original')).toEqual(['Real.Id']);
  expect(await uidsOf('moves', 'pushed-name')).toEqual([]);
  expect(await uidsOf('moves', 'real.id')).toEqual([pushed.packageUid]);
});

describe('pages of the listing index', () => {
  const ports: ListingsPorts = {
    container: undefined as never,
    memory: undefined as never,
    pageIds: 4,
  };
  const small = () => ({
    ...ports,
    container: storage.listingsContainer,
    memory: storage.listingsMemory,
  });

  it('keeps every id filed by concurrent writers, splitting pages that fill', async () => {
    await rebuildListings(small(), 'race', []);
    const rows = Array.from({ length: 30 }, (_, n) =>
      packageRow('race', `Id${String(n).padStart(2, '0')}`, '1.0.0'),
    );
    // Two uploads of one id at once, too.
    const twins = [packageRow('race', 'Twin', '1.0.0'), packageRow('race', 'Twin', '2.0.0')];
    await Promise.all([...rows, ...twins].map((r) => packageChanged(small(), undefined, r)));

    const index = (await readIndex(small(), 'race'))!.doc;
    expect(index.pages.length).toBeGreaterThan(4);
    for (const ref of index.pages) {
      const page = (await readPage(small(), 'race', ref.name))!.doc;
      expect(page.ids.length).toBeLessThanOrEqual(4);
      expect(page.sealed).toBeUndefined();
    }
    const expected = [...rows.map((r) => r.id), 'Twin'];
    expect(await idsOf('race')).toEqual(expected);
    expect(await uidsOf('race', 'twin')).toEqual(twins.map((r) => r.packageUid));
  });

  it('answers skip and take across page boundaries, an exact id, and a term', async () => {
    const rows = Array.from({ length: 23 }, (_, n) =>
      packageRow(
        'paged',
        `P${String(n).padStart(2, '0')}`,
        '1.0.0',
        n % 5 === 0 ? 'damaged' : 'succeeded',
      ),
    );
    await rebuildListings(small(), 'paged', rows);
    const shown = rows.filter((r) => r.state === 'succeeded').map((r) => r.id);
    for (const [skip, take] of [
      [0, 3],
      [1, 4],
      [2, 7],
      [5, 100],
      [17, 5],
      [18, 1],
    ] as const) {
      const found = await findIds(storage, subfeed('paged'), undefined, everyId(skip, take));
      expect(found.total).toBe(shown.length);
      expect(found.ids.map((s) => s.id)).toEqual(shown.slice(skip, skip + take));
    }
    const exact = await findIds(storage, subfeed('paged'), undefined, {
      ...everyId(),
      exact: ['p07'],
    });
    expect(exact.ids.map((s) => s.id)).toEqual(['P07']);
    const term = await findIds(storage, subfeed('paged'), undefined, {
      ...everyId(),
      terms: ['1'],
    });
    expect(term.ids.map((s) => s.id)).toEqual(shown.filter((id) => id.includes('1')));
  });

  it('lists every upload from skip to take across pages and ids', async () => {
    const rows = Array.from({ length: 9 }, (_, n) =>
      Array.from({ length: (n % 4) + 1 }, (_, v) => packageRow('uploads', `U${n}`, `1.0.${v}`)),
    ).flat();
    await rebuildListings(small(), 'uploads', rows);
    const flat = rows.map((r) => r.packageUid);
    const seen = { prerelease: true, semVer2: true, nugetOnly: true };
    for (const [skip, take] of [
      [0, 5],
      [3, 4],
      [6, 10],
      [20, 30],
    ] as const) {
      const found = await findUploads(storage, subfeed('uploads'), seen, skip, take);
      expect(found.total).toBe(rows.length);
      const window = found.ids
        .flatMap(({ first, views }) => views.map((view, i) => ({ at: first + i, uid: view.uid })))
        .filter(({ at }) => at >= skip && at < skip + take)
        .map(({ uid }) => uid);
      expect(window).toEqual(flat.slice(skip, skip + take));
    }
  });

  it('lists an id with more versions than a registration page in one id listing', async () => {
    const rows = Array.from({ length: 300 }, (_, n) => packageRow('many', 'Many', `1.0.${n}`));
    await rebuildListings(small(), 'many', [...rows, packageRow('many', 'Other', '1.0.0')]);
    const views = await idUploads(storage, subfeed('many'), undefined, 'MANY');
    expect(views).toHaveLength(300);
    const urls = { registrationBase: 'http://h/r/', flatContainerBase: 'http://h/f/' };
    const index = registrationIndex(urls, views, 'many')!;
    expect(index.items.reduce((sum, page) => sum + page.count, 0)).toBe(300);
    expect(
      (await findIds(storage, subfeed('many'), undefined, everyId())).ids[0]?.versions,
    ).toHaveLength(300);
  });
});
