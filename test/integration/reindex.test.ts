import { TableClient } from '@azure/data-tables';
import { indexPackage } from '../../shared/indexing/indexPackage';
import { ChunkedReader, blobRangeSource, RangeReadError } from '../../shared/zip/chunkedReader';
import { PackageZip } from '../../shared/zip/packageZip';
import { getPackageRow, putPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { readStatusDocument } from '../../shared/packages/statusDocument';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  // Locations are not cached here, so every GET shows what the table holds right now.
  stack = await startStack({
    SYMFEED_LOCATION_CACHE_SECONDS: '0',
    SYMFEED_MISS_CACHE_SECONDS: '0',
  });
});
afterAll(() => stack?.stop());

const deps = () => ({ storage: stack.rt.storage, settings: stack.rt.settings });

const pkg = (keys: string[], content: string) =>
  makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex(keys.map((clientKey) => ({ clientKey, blobPath: 'f.txt' }))),
    },
    { name: 'f.txt', data: content },
  ]);

/** Every row of the symbolkeys table that belongs to a package: a test may scan, symfeed never does. */
async function rowsOf(packageUid: string): Promise<string[]> {
  const rows: string[] = [];
  const table: TableClient = stack.rt.storage.symbolKeysTable;
  for await (const row of table.listEntities<{ key: string; packageUid: string }>()) {
    if (row.packageUid === packageUid) rows.push(`${row.partitionKey}|${row.rowKey}|${row.key}`);
  }
  return rows.sort();
}

async function get(key: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${stack.symbols}/${key}`);
  return { status: response.status, body: await response.text() };
}

it('picks up a new blob within 2 s without being asked', async () => {
  await stack.upload('pickup.zip', await pkg(['pickup'], 'picked up'));
  const started = Date.now();
  while ((await get('pickup')).status !== 200 && Date.now() - started < 5_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(await get('pickup')).toEqual({ status: 200, body: 'picked up' });
});

it('gives the same rows and document when run again', async () => {
  await stack.upload('again.zip', await pkg(['again-1', 'again-2'], 'again'));
  const first = await stack.indexed('again.zip');
  const uid = packageUidFor('default', 'again.zip');
  const rows = await rowsOf(uid);
  // Each key has its candidate row and, winning it, the winner row.
  expect(rows).toHaveLength(4);

  expect(await indexPackage(deps(), 'default', 'again.zip')).toEqual({
    kind: 'unchanged',
    packageUid: uid,
    state: 'succeeded',
  });
  // As after a crash mid-run: the row still says indexing, so the next delivery does it all again.
  const row = (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))!;
  // One time in code, whichever store it was read from; the document keeps it as ISO text.
  expect(first.firstIndexedAt).toBe(row.firstIndexedAt);
  const stored = JSON.parse(
    (
      await stack.rt.storage.statusContainer.getBlobClient(`default/${uid}.json`).downloadToBuffer()
    ).toString('utf8'),
  ) as Record<string, unknown>;
  expect(stored.firstIndexedAt).toBe(new Date(row.firstIndexedAt).toISOString());
  expect(stored).not.toHaveProperty('stateChangedAt');
  await putPackageRow(stack.rt.storage, { ...row, state: 'indexing' });
  expect(await indexPackage(deps(), 'default', 'again.zip')).toMatchObject({
    kind: 'indexed',
    keys: 2,
  });
  expect(await rowsOf(uid)).toEqual(rows);
  const second = (await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid))!;
  expect(second.keys).toEqual(first.keys);
  expect(second.firstIndexedAt).toBe(first.firstIndexedAt);
});

it('re-indexes a replaced blob and drops the keys only the old content had', async () => {
  await stack.upload('replaced.zip', await pkg(['old-only', 'both'], 'old content'));
  await stack.indexed('replaced.zip');
  expect(await get('old-only')).toEqual({ status: 200, body: 'old content' });

  await stack.upload('replaced.zip', await pkg(['both', 'new-only'], 'new content, longer'));
  const doc = await stack.indexed('replaced.zip');
  expect(doc.keys.map((k) => k.key).sort()).toEqual(['both', 'new-only']);
  expect(await get('old-only')).toEqual({ status: 404, body: expect.stringMatching(/No file/) });
  expect(await get('both')).toEqual({ status: 200, body: 'new content, longer' });
  expect(await get('new-only')).toEqual({ status: 200, body: 'new content, longer' });
  expect((await rowsOf(doc.packageUid)).map((row) => row.split('|')[2]).sort()).toEqual([
    'both',
    'both',
    'new-only',
    'new-only',
  ]);
  expect(doc.history.map((h) => h.state)).toEqual([
    'indexing',
    'succeeded',
    'indexing',
    'succeeded',
  ]);
});

it('loses nothing when storage fails mid-run, and the retry finishes the job', async () => {
  await stack.upload('fault.zip', await pkg(['fault-1', 'fault-2'], 'survives'));
  const broken = {
    ...deps(),
    // A real storage fault: the table does not exist, so every row write fails with 404.
    storage: {
      ...stack.rt.storage,
      symbolKeysTable: TableClient.fromConnectionString(
        stack.azurite.connectionString,
        'nosuchtable',
        { allowInsecureConnection: true },
      ),
    },
  };
  await expect(indexPackage(broken, 'default', 'fault.zip')).rejects.toThrow();
  const uid = packageUidFor('default', 'fault.zip');
  expect((await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))?.state).toBe(
    'indexing',
  );
  // The document written before the rows already names every key a later run must account for.
  const pending = await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid);
  expect(pending?.keys.map((k) => k.key).sort()).toEqual(['fault-1', 'fault-2']);

  const doc = await stack.indexed('fault.zip');
  expect(doc.state).toBe('succeeded');
  expect(await get('fault-1')).toEqual({ status: 200, body: 'survives' });
  expect(await rowsOf(uid)).toHaveLength(4);
});

it('treats a blob replaced mid-read as a storage fault, not as a damaged package', async () => {
  await stack.upload('racing.zip', await pkg(['racing'], 'first'));
  const doc = await stack.indexed('racing.zip');
  await stack.upload('racing.zip', await pkg(['racing'], 'second'));
  // A run that started before the replacement reads with the old ETag.
  const blob = stack.rt.storage.packagesContainer.getBlobClient('default/racing.zip');
  const size = (await blob.getProperties()).contentLength!;
  const reader = new ChunkedReader(blobRangeSource(blob, doc.blobEtag), size, 64 * 1024);
  const opening = PackageZip.open(reader, size, {
    maxEntries: 10,
    maxEntryBytes: 1e9,
    maxCompressionRatio: 100,
  });
  await expect(opening).rejects.toBeInstanceOf(RangeReadError);
  await expect(opening).rejects.toMatchObject({ cause: { statusCode: 412 } });
  expect((await stack.indexed('racing.zip')).state).toBe('succeeded');
  expect(await get('racing')).toEqual({ status: 200, body: 'second' });
});
