import { TableClient, TableTransaction } from '@azure/data-tables';
import { InvocationContext } from '@azure/functions';
import { indexer } from '../../functions/indexer';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { EventGridEvent } from '../../shared/indexing/blobEvent';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { readStatusDocument, StatusDocument } from '../../shared/packages/statusDocument';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * The indexer takes the storage account's blob events from the queue package-events, one event
 * in the Event Grid schema a message, base64-encoded, as an Event Grid storage-queue subscription
 * writes them. The messages here are written by hand as Event Grid writes them.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    SYMFEED_LOCATION_CACHE_SECONDS: '0',
    SYMFEED_MISS_CACHE_SECONDS: '0',
  });
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'clean', visibility: 'public' });
});
afterAll(() => stack?.stop());

const pkg = (keys: readonly string[], content: string) =>
  makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex(keys.map((clientKey) => ({ clientKey, blobPath: 'f.txt' }))),
    },
    { name: 'f.txt', data: content },
  ]);

/** The event Event Grid delivers for a blob of the packages container. */
async function eventFor(
  eventType: 'Microsoft.Storage.BlobCreated' | 'Microsoft.Storage.BlobDeleted',
  blobName: string,
): Promise<EventGridEvent> {
  const blob = stack.rt.storage.packagesContainer.getBlobClient(blobName);
  const properties = await blob.getProperties().catch(() => undefined);
  return {
    topic:
      '/subscriptions/6b7e0b53-2e5c-4a5b-9f0e-0a4b3c2d1e0f/resourceGroups/symbols/providers/Microsoft.Storage/storageAccounts/symfeedstore',
    subject: `/blobServices/default/containers/packages/blobs/${blobName}`,
    eventType,
    id: crypto.randomUUID(),
    data: {
      api: eventType === 'Microsoft.Storage.BlobCreated' ? 'PutBlockList' : 'DeleteBlob',
      clientRequestId: crypto.randomUUID(),
      requestId: crypto.randomUUID(),
      ...(properties ? { eTag: properties.etag?.replace(/"/g, '') } : {}),
      contentType: 'application/octet-stream',
      ...(properties ? { contentLength: properties.contentLength } : {}),
      blobType: 'BlockBlob',
      url: blob.url,
      sequencer: '00000000000004420000000000028963',
      storageDiagnostics: { batchId: crypto.randomUUID() },
    },
    dataVersion: '',
    metadataVersion: '1',
    eventTime: new Date().toISOString(),
  };
}

const send = (message: unknown) =>
  stack.rt.storage.queues
    .getQueueClient('package-events')
    .sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} did not happen within 30 s; host log:\n${stack.logs.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every row of the symbolkeys table naming a package: a test may scan, symfeed never does. */
async function rowsOf(packageUid: string): Promise<{ key: string; etag: string }[]> {
  const rows: { key: string; etag: string }[] = [];
  const table: TableClient = stack.rt.storage.symbolKeysTable;
  for await (const row of table.listEntities<{ key: string; packageUid: string }>()) {
    if (row.packageUid === packageUid) rows.push({ key: row.key, etag: row.etag });
  }
  return rows.sort((a, b) => a.key.localeCompare(b.key) || a.etag.localeCompare(b.etag));
}

/** What one run leaves: the package row, the status document as stored, the key rows. */
async function stateOf(feed: string, name: string) {
  const uid = packageUidFor(feed, name);
  const row = await getPackageRow(stack.rt.storage.packagesTable, feed, uid);
  const statusBlob = stack.rt.storage.statusContainer.getBlobClient(`${feed}/${uid}.json`);
  return {
    rowEtag: row?.etag,
    statusEtag: (await statusBlob.getProperties()).etag,
    rows: await rowsOf(uid),
  };
}

/** A document with what only differs between feeds and runs (names, times) left out. */
function comparable(doc: StatusDocument | undefined) {
  return {
    state: doc?.state,
    history: doc?.history.map((change) => change.state),
    keys: doc?.keys.map((record) => record.key).sort(),
    errors: doc?.errors,
    warnings: doc?.warnings,
    handovers: doc?.handovers ?? [],
  };
}

it('takes the same event delivered twice as one: the second changes nothing', async () => {
  await stack.upload('twice.zip', await pkg(['twice-1', 'twice-2'], 'twice'));
  await stack.indexed('twice.zip');
  const before = await stateOf('default', 'twice.zip');
  const event = await eventFor('Microsoft.Storage.BlobCreated', 'default/twice.zip');
  await send(event);
  await send(event);
  await stack.host.drain();
  expect(await stateOf('default', 'twice.zip')).toEqual(before);
  expect(
    stack.logs.filter((line) => line.includes('default/twice.zip: unchanged since it was indexed')),
  ).toHaveLength(2);
});

it('takes an event delivered again while its first run is under way as one run', async () => {
  const keys = Array.from({ length: 300 }, (_, i) => `busy-${i}`);
  const bytes = await pkg(keys, 'busy');
  const uid = packageUidFor('default', 'busy.zip');
  // Gate: the runs' key-row transactions wait until both runs are under way. It delays the real
  // client's calls, nothing more; it makes the interleaving certain instead of likely.
  const table = stack.rt.storage.symbolKeysTable;
  const submit = table.submitTransaction.bind(table);
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  table.submitTransaction = async (actions: TableTransaction['actions']) => {
    await gate;
    return submit(actions);
  };
  try {
    await stack.upload('busy.zip', bytes);
    // The first run, from the blob's own event, has written its pending document.
    await until(
      async () =>
        (await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid))?.state ===
        'indexing',
      'the first run',
    );
    const claimed = (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))?.etag;
    await send(await eventFor('Microsoft.Storage.BlobCreated', 'default/busy.zip'));
    await until(
      async () =>
        (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))?.etag !== claimed,
      'the second run claiming the package',
    );
  } finally {
    open();
    table.submitTransaction = submit;
  }
  const doc = await stack.indexed('busy.zip');

  await stack.upload('busy.zip', bytes, 'clean');
  const clean = await stack.indexed('busy.zip', 'clean');
  expect(comparable(doc)).toEqual(comparable(clean));
  expect(comparable(doc).history).toEqual(['indexing', 'succeeded']);
  const keysOf = async (feed: string) =>
    (await rowsOf(packageUidFor(feed, 'busy.zip'))).map((row) => row.key);
  expect(await keysOf('default')).toEqual(await keysOf('clean'));
  const row = await getPackageRow(stack.rt.storage.packagesTable, 'default', uid);
  const cleanRow = await getPackageRow(
    stack.rt.storage.packagesTable,
    'clean',
    packageUidFor('clean', 'busy.zip'),
  );
  for (const field of ['state', 'keyCount', 'errorCount', 'warningCount'] as const) {
    expect(row?.[field]).toEqual(cleanRow?.[field]);
  }
});

it('records the failure of the last attempt in the status document and row, not before', async () => {
  const name = 'failing.zip';
  const uid = packageUidFor('default', name);
  // A real storage fault: the key table is gone, so every run fails writing rows.
  await stack.rt.storage.symbolKeysTable.deleteTable();
  try {
    await stack.upload(name, await pkg(['failing-key'], 'failing'));
    // The host's own delivery fails first; its message is back in 30 s, after this test.
    await until(
      async () => stack.logs.some((line) => /indexer: message .* attempt 1 failed/.test(line)),
      'the first attempt',
    );
    const event = await eventFor('Microsoft.Storage.BlobCreated', `default/${name}`);
    const attempt = (dequeueCount: number) =>
      indexer.kind === 'queue'
        ? indexer.options.handler(
            event,
            new InvocationContext({ functionName: 'indexer', triggerMetadata: { dequeueCount } }),
          )
        : Promise.resolve();

    await expect(attempt(4)).rejects.toThrow();
    expect((await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))?.state).toBe(
      'indexing',
    );
    await expect(attempt(5)).rejects.toThrow();
  } finally {
    await stack.rt.storage.symbolKeysTable.createTable();
  }
  const row = await getPackageRow(stack.rt.storage.packagesTable, 'default', uid);
  const doc = await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid);
  expect({ state: row?.state, errorCount: row?.errorCount }).toEqual({
    state: 'partial',
    errorCount: 1,
  });
  expect(doc?.state).toBe('partial');
  expect(doc?.errors).toEqual([
    expect.stringMatching(
      /^indexing failed 5 times and was given up: [\s\S]+; upload the package again to index it again$/,
    ),
  ]);
  expect(doc?.history.at(-1)).toMatchObject({ state: 'partial' });
});

it('moves a message that is not an Event Grid event to the poison queue, with the reason', async () => {
  const poison = stack.rt.storage.queues.getQueueClient('package-events-poison');
  await poison.clearMessages();
  await send([{ eventType: 'Microsoft.Storage.BlobCreated' }]);
  await send({ specversion: '1.0', type: 'Microsoft.Storage.BlobCreated', source: 'x', id: '1' });
  await stack.host.drain();
  const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
  const reasons = peekedMessageItems.map(
    (item) =>
      (JSON.parse(Buffer.from(item.messageText, 'base64').toString()) as { reason: string }).reason,
  );
  expect(reasons.sort()).toEqual([
    'a CloudEvents event: give the Event Grid subscription the event schema EventGridSchema',
    expect.stringMatching(/^not an event in the Event Grid schema \(message: /),
  ]);
});

it('ignores events of other types and of blobs that are not packages, and lets them go', async () => {
  const event = await eventFor('Microsoft.Storage.BlobCreated', 'default/nothing.zip');
  await send({ ...event, eventType: 'Microsoft.Storage.BlobTierChanged' });
  await send({ ...event, subject: '/blobServices/default/containers/other/blobs/default/x.zip' });
  await send({ ...event, subject: '/blobServices/default/containers/packages/blobs/loose.zip' });
  await stack.host.drain();
  const ignored = stack.logs.filter((line) => line.includes('indexer: ignored: '));
  expect(ignored.join('\n')).toMatch(/BlobTierChanged events are not for the indexer/);
  expect(ignored.join('\n')).toMatch(/is not in the packages container/);
  expect(ignored.join('\n')).toMatch(/"loose.zip" is not at \{feed\}\/\{name\}/);
  const { peekedMessageItems } = await stack.rt.storage.queues
    .getQueueClient('package-events')
    .peekMessages();
  expect(peekedMessageItems).toEqual([]);
});

it('keeps a package whose blob was uploaded again by the time its BlobDeleted arrives', async () => {
  await stack.upload('back.zip', await pkg(['back-key'], 'back'));
  await stack.indexed('back.zip');
  // Event Grid keeps no order: the delete of an earlier upload arrives after the new upload.
  await send(await eventFor('Microsoft.Storage.BlobDeleted', 'default/back.zip'));
  await stack.host.drain();
  const row = await getPackageRow(
    stack.rt.storage.packagesTable,
    'default',
    packageUidFor('default', 'back.zip'),
  );
  expect(row?.state).toBe('succeeded');
  const response = await fetch(`${stack.symbols}/back-key`);
  expect({ status: response.status, body: await response.text() }).toEqual({
    status: 200,
    body: 'back',
  });
});
