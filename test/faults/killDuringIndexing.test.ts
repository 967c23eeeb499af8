import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitIndexed } from '../../bench/support/storage';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { createStorageClients, ensureStorage, StorageClients } from '../../shared/storage/clients';
import { makeZip } from '../support/zips';
import { HostProcess, startHostProcess } from './support/hostProcess';
import { GeneratedPackage, Mapping, uploadFile } from './support/packages';
import { Poller, Probe, reportFigures } from './support/poller';
import { allRows, comparable, Row, rowsNaming, rowText } from './support/rows';

/**
 * Fault: `kill -9` of the host (`npm start` on a given account) indexing a package of about
 * 320 MB with 4,000 entries and 28,050 keys, twice: once while it reads the package (no rows yet),
 * once while it writes the rows; each time a restart. The package must end `succeeded` with
 * exactly the rows a clean run of the same bytes writes in another feed; while it runs, every 200
 * carries the right bytes from the right package; and another package in the same feed, which
 * shares 50 keys with it and wins them, keeps its rows and keeps serving.
 */
const ENTRIES = 4_000;
const EXPLICIT_PER_ENTRY = 6;
const SHARED = 50;
const SIGNATURE = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const CLEAN = 'cleanrun';
const FEED = 'default';

const names = Array.from({ length: ENTRIES }, (_, i) => `src/d${i % 40}/file${i}.cs`);
// 16 KiB to 144 KiB: some small enough to be held in memory when served, most streamed.
const sizeOf = (i: number) => 16_384 + ((i * 7_919) % 131_072);
const explicitKey = (i: number, j: number) => `big${i}x${j}.pdb/${SIGNATURE}${j}/big${i}x${j}.pdb`;
const sharedKey = (k: number) => `shared${k}.pdb/${SIGNATURE}1/shared${k}.pdb`;
const otherKey = (k: number) => `other${k}.pdb/${SIGNATURE}1/other${k}.pdb`;

const bigMappings: Mapping[] = [
  ...names.flatMap((name, i) =>
    Array.from({ length: EXPLICIT_PER_ENTRY }, (_, j) => ({
      clientKey: explicitKey(i, j),
      blobPath: name,
    })),
  ),
  ...Array.from({ length: SHARED }, (_, k) => ({
    clientKey: sharedKey(k),
    blobPath: names[k] as string,
  })),
];
const big = new GeneratedPackage(names, sizeOf, bigMappings);
const otherFiles = Array.from({ length: SHARED }, () => randomBytes(3_000));

let azurite: RunningAzurite;
let storage: StorageClients;
let host: HostProcess | undefined;
let port: number;
let work: string;
let poller: Poller | undefined;

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  storage = createStorageClients(azurite.connection);
  await ensureStorage(storage);
  await ensureFeed(storage.feedsTable, { name: CLEAN, visibility: 'public' });
  port = await freePort();
  work = mkdtempSync(path.join(tmpdir(), 'symfeed-kill-indexing-'));
});

afterAll(async () => {
  await poller?.stop();
  await host?.stop();
  await azurite?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Starts `npm start`; no miss cache, so that keys show up the moment their rows are written. */
const startHost = () =>
  startHostProcess(azurite.connectionString, port, { SYMFEED_MISS_CACHE_SECONDS: '0' });

async function uploadOther(feed: string): Promise<void> {
  const zip = await makeZip([
    {
      name: 'symbol_index.json',
      data: JSON.stringify(
        Array.from({ length: SHARED }, (_, k) => [
          { clientKey: sharedKey(k), blobPath: `o${k}.bin` },
          { clientKey: otherKey(k), blobPath: `o${k}.bin` },
        ]).flat(),
      ),
    },
    ...otherFiles.map((data, k) => ({ name: `o${k}.bin`, data, compress: false })),
  ]);
  await storage.packagesContainer.getBlockBlobClient(`${feed}/other.zip`).uploadData(zip);
  expect((await waitIndexed(storage, feed, 'other.zip', 120_000)).state).toBe('succeeded');
}

it('finishes a package whose indexing was killed with exactly the rows of a clean run, serving nothing half-written', async () => {
  const started = Date.now();
  const file = path.join(work, 'big.zip');
  await big.write(file);
  host = await startHost();

  // The clean run: the same packages, indexed without a fault, in a feed of their own.
  await uploadOther(CLEAN);
  await uploadFile(storage.packagesContainer, CLEAN, 'big.zip', file);
  const clean = await waitIndexed(storage, CLEAN, 'big.zip', 600_000);
  expect(clean.state).toBe('succeeded');
  expect(clean.keys).toHaveLength(ENTRIES * (EXPLICIT_PER_ENTRY + 1) + SHARED);

  await uploadOther(FEED);
  const uid = {
    big: packageUidFor(FEED, 'big.zip'),
    other: packageUidFor(FEED, 'other.zip'),
    cleanBig: packageUidFor(CLEAN, 'big.zip'),
    cleanOther: packageUidFor(CLEAN, 'other.zip'),
  };
  const otherRowsBefore = rowsNaming(await allRows(storage.symbolKeysTable), [uid.other]).map(
    ownPart,
  );

  // Keys of every kind: explicit and derived keys of the big package, and the other package's
  // own and shared keys, which it must serve throughout.
  const bigKeys = clean.keys.filter((record) => !record.key.startsWith('shared'));
  const bigProbes: Probe[] = bigKeys
    .filter((_, i) => i % 50 === 0)
    .map((record) => ({
      key: record.key,
      accept: [{ bytes: big.contentOf(record.location.entry), blob: `${FEED}/big.zip` }],
      mustServe: false,
    }));
  const otherProbes: Probe[] = otherFiles.flatMap((bytes, k) => [
    { key: sharedKey(k), accept: [{ bytes, blob: `${FEED}/other.zip` }], mustServe: true },
    { key: otherKey(k), accept: [{ bytes, blob: `${FEED}/other.zip` }], mustServe: true },
  ]);
  expect(bigProbes.some((probe) => !probe.key.startsWith('big'))).toBe(true);
  poller = new Poller(`${host.url}/F/${FEED}/symbols`, [...bigProbes, ...otherProbes]);
  const running = poller;
  const rowsOf = async (packageUid: string) =>
    rowsNaming(await allRows(storage.symbolKeysTable), [packageUid]).length;
  const cleanRows = await rowsOf(uid.cleanBig);

  const uploaded = Date.now();
  await uploadFile(storage.packagesContainer, FEED, 'big.zip', file);
  // First kill: the run has begun (the package shows `indexing`) and is reading the package.
  await running.until(
    async () => (await getPackageRow(storage.packagesTable, FEED, uid.big))?.state === 'indexing',
    600_000,
    'the big package showing `indexing`',
  );
  const firstKillAt = Date.now();
  await host.kill9();
  const firstKill = {
    secondsAfterUpload: (firstKillAt - uploaded) / 1000,
    state: (await getPackageRow(storage.packagesTable, FEED, uid.big))?.state,
    rows: await rowsOf(uid.big),
  };
  host = await startHost();
  const firstRestartAt = Date.now();

  // Second kill: rows are being written once keys of the package are served.
  await running.until(
    () => bigProbes.some((probe) => running.served.has(probe.key)),
    600_000,
    'a key of the big package being served',
  );
  const secondKillAt = Date.now();
  await host.kill9();
  const secondKill = {
    secondsAfterRestart: (secondKillAt - firstRestartAt) / 1000,
    state: (await getPackageRow(storage.packagesTable, FEED, uid.big))?.state,
    rows: await rowsOf(uid.big),
  };
  // Both kills landed in the middle: indexing, and no row or only part of them written.
  expect([firstKill.state, secondKill.state]).toEqual(['indexing', 'indexing']);
  expect(firstKill.rows).toBeLessThan(cleanRows);
  expect(secondKill.rows).toBeGreaterThan(0);
  expect(secondKill.rows).toBeLessThan(cleanRows);

  host = await startHost();
  const restartedAt = Date.now();
  const doc = await waitIndexed(storage, FEED, 'big.zip', 600_000);
  const indexedAt = Date.now();
  const during = await running.stop();
  poller = undefined;

  // A sweep of every sampled key now that it is done: all of them served, all right.
  const sweep = new Poller(`${host.url}/F/${FEED}/symbols`, [], 0);
  const after = await Promise.all(
    [...bigProbes, ...otherProbes].map((probe) => sweep.ask({ ...probe, mustServe: true })),
  );
  reportFigures('kill -9 while indexing', {
    packageMB: Math.round(big.bytes / 2 ** 20),
    entries: ENTRIES,
    keys: clean.keys.length,
    rowsOfCleanRun: cleanRows,
    firstKill,
    secondKill,
    secondsFromRestartToSucceeded: (indexedAt - restartedAt) / 1000,
    requestsWhileIndexing: during.requests,
    statuses: during.statuses,
    wrongAnswers: during.wrong.length,
    unanswered: during.unanswered.length,
  });

  expect(doc.state).toBe('succeeded');
  expect((await getPackageRow(storage.packagesTable, FEED, uid.big))?.state).toBe('succeeded');
  expect(during.wrong).toEqual([]);
  expect(after.filter(Boolean)).toEqual([]);
  // No request went unanswered while a host was up.
  const hostDown = (at: number) =>
    (at >= firstKillAt - 1_000 && at <= firstRestartAt) ||
    (at >= secondKillAt - 1_000 && at <= restartedAt);
  const stray = during.unanswered.filter(({ at }) => !hostDown(at));
  expect(stray).toEqual([]);

  const rows = await allRows(storage.symbolKeysTable);
  const mine = rowsNaming(rows, [uid.big, uid.other]);
  const theirs = rowsNaming(rows, [uid.cleanBig, uid.cleanOther]);
  expect(mine.length + theirs.length).toBe(rows.length);
  const blobs = async (feed: string) =>
    Object.fromEntries(
      await Promise.all(
        ['big.zip', 'other.zip'].map(async (name) => {
          const properties = await storage.packagesContainer
            .getBlobClient(`${feed}/${name}`)
            .getProperties();
          return [(properties.etag ?? '').replace(/"/g, ''), `<etag of ${name}>`];
        }),
      ),
    );
  const window = [started - 60_000, Date.now() + 60_000] as const;
  const asRun = comparable(
    mine,
    {
      [uid.big]: '<big>',
      [uid.other]: '<other>',
      [`${FEED}/`]: '<feed>/',
      [`${FEED}_`]: '<feed>_',
      ...(await blobs(FEED)),
    },
    window,
  );
  const asClean = comparable(
    theirs,
    {
      [uid.cleanBig]: '<big>',
      [uid.cleanOther]: '<other>',
      [`${CLEAN}/`]: '<feed>/',
      [`${CLEAN}_`]: '<feed>_',
      ...(await blobs(CLEAN)),
    },
    window,
  );
  expect(asRun.length).toBe(asClean.length);
  const cleanSet = new Set(asClean);
  // The first few differences, readable, before the whole comparison.
  expect(asRun.filter((row) => !cleanSet.has(row)).slice(0, 5)).toEqual([]);
  expect(asRun).toEqual(asClean);

  // The other package's rows are as they were before the big package came.
  expect(rowsNaming(rows, [uid.other]).map(ownPart).sort()).toEqual(otherRowsBefore.sort());
});

/**
 * What a row says of its own package: all but the winner row's note that other packages offer the
 * key too (`shared`), which the big package's arrival rightly sets on the keys it shares.
 */
function ownPart({ shared: _shared, ...row }: Row): string {
  return rowText(row);
}
