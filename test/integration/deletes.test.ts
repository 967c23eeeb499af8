import { InvocationContext } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { deleter } from '../../functions/deleter';
import { DefinitionOf } from '../../functions/definition';
import { indexPackage } from '../../shared/indexing/indexPackage';
import { findLocation } from '../../shared/index/keyTable';
import { deletePackage, recordState, requestDelete } from '../../shared/packages/deletePackage';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { readStatusDocument } from '../../shared/packages/statusDocument';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const uid = (name: string) => packageUidFor('default', name);
const pkg = (keys: string[], content: string) =>
  makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex(keys.map((clientKey) => ({ clientKey, blobPath: 'f.txt' }))),
    },
    { name: 'f.txt', data: content },
  ]);
const get = async (key: string) => {
  const response = await fetch(`${stack.symbols}/${key}`);
  return { status: response.status, body: await response.text() };
};
const state = async (name: string) =>
  (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid(name)))?.state;

/** Drains the queue and the blob scan until the package reaches `wanted`. */
async function until(name: string, wanted: string) {
  const deadline = Date.now() + 30_000;
  while ((await state(name)) !== wanted && Date.now() < deadline) await stack.host.drain();
  expect(await state(name)).toBe(wanted);
}

/** Every key row of a package: a test may scan the table, symfeed never does. */
async function rowCount(packageUid: string) {
  let count = 0;
  for await (const row of stack.rt.storage.symbolKeysTable.listEntities<{ packageUid: string }>()) {
    if (row.packageUid === packageUid) count += 1;
  }
  return count;
}

it('deletes a package: its keys 404 and the next candidate for a shared key takes over', async () => {
  await stack.upload('winner.zip', await pkg(['only-winner', 'shared-key'], 'from the winner'));
  await stack.indexed('winner.zip');
  await stack.upload('runner-up.zip', await pkg(['shared-key'], 'from the runner-up'));
  await stack.indexed('runner-up.zip');
  expect(await get('shared-key')).toEqual({ status: 200, body: 'from the winner' });

  const started = Date.now();
  expect(
    await requestDelete(
      { storage: stack.rt.storage },
      {
        feed: 'default',
        packageUid: uid('winner.zip'),
        reason: 'test',
      },
    ),
  ).toBe('queued');
  // The host's deleter may take the message before the ask records deletingqueued, and the ask
  // then leaves the deleter's state alone (deleteRequests.test.ts sees deletingqueued, with no host).
  expect(['deletingqueued', 'deleting', 'deleted']).toContain(await state('winner.zip'));
  await until('winner.zip', 'deleted');
  expect(Date.now() - started).toBeLessThan(5_000);

  expect(await get('only-winner')).toMatchObject({ status: 404 });
  expect(await get('shared-key')).toEqual({ status: 200, body: 'from the runner-up' });
  expect(
    await stack.rt.storage.packagesContainer.getBlobClient('default/winner.zip').exists(),
  ).toBe(false);
  expect(await rowCount(uid('winner.zip'))).toBe(0);
  const doc = await readStatusDocument(
    stack.rt.storage.statusContainer,
    'default',
    uid('winner.zip'),
  );
  expect(doc?.history.map((h) => h.state).filter((s) => s !== 'deletingqueued')).toEqual([
    'indexing',
    'succeeded',
    'deleting',
    'deleted',
  ]);
});

it('treats a second delete of the same package as done already', async () => {
  expect(
    await requestDelete(
      { storage: stack.rt.storage },
      {
        feed: 'default',
        packageUid: uid('winner.zip'),
        reason: 'again',
      },
    ),
  ).toBe('already');
  await expect(
    requestDelete(
      { storage: stack.rt.storage },
      { feed: 'default', packageUid: 'f'.repeat(32), reason: 'x' },
    ),
  ).rejects.toThrow(/has no package/);
});

it('lets a delete be asked for again when its message could not be sent', async () => {
  await stack.upload('unsent.zip', await pkg(['unsent-key'], 'unsent'));
  await stack.indexed('unsent.zip');
  const message = { feed: 'default', packageUid: uid('unsent.zip'), reason: 'test' };
  // A real fault: the queue is gone, so the send fails, as a missing queue.
  await stack.rt.storage.deletesQueue.delete();
  try {
    await expect(requestDelete({ storage: stack.rt.storage }, message)).rejects.toMatchObject({
      code: 'QueueNotFound',
    });
  } finally {
    await stack.rt.storage.deletesQueue.create();
  }
  // Nothing was queued, so nothing claims to be.
  expect(await state('unsent.zip')).toBe('succeeded');
  expect(await get('unsent-key')).toEqual({ status: 200, body: 'unsent' });
  expect(await requestDelete({ storage: stack.rt.storage }, message)).toBe('queued');
  await until('unsent.zip', 'deleted');
  expect(await get('unsent-key')).toMatchObject({ status: 404 });
});

it('deletes a package whose blob is removed straight from storage', async () => {
  await stack.upload('dropped.zip', await pkg(['dropped-key'], 'dropped'));
  await stack.indexed('dropped.zip');
  await stack.rt.storage.packagesContainer.getBlobClient('default/dropped.zip').delete();
  await until('dropped.zip', 'deleted');
  expect(await get('dropped-key')).toMatchObject({ status: 404 });
});

it('moves a malformed message to the poison queue with its reason, once', async () => {
  const poison = stack.rt.storage.queues.getQueueClient('deletes-poison');
  await poison.clearMessages();
  await stack.rt.storage.deletesQueue.sendMessage(
    Buffer.from(JSON.stringify({ feed: 'Bad Feed!', extra: 1 })).toString('base64'),
  );
  await stack.host.drain();
  await stack.host.drain();
  const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
  expect(peekedMessageItems).toHaveLength(1);
  const poisoned = JSON.parse(
    Buffer.from(peekedMessageItems[0]!.messageText, 'base64').toString(),
  ) as { reason: string };
  expect(poisoned.reason).toMatch(/feed: .*packageUid: .*reason: /s);
  expect((await stack.rt.storage.deletesQueue.peekMessages()).peekedMessageItems).toEqual([]);
});

it('never indexes a package whose delete was asked for mid-run, and takes its rows back', async () => {
  await stack.upload('racing.zip', await pkg(['racing-key'], 'racing'));
  await stack.indexed('racing.zip');
  // The delete lands while a re-run is writing rows: a table that marks the package deleting on
  // the run's first row write, on real storage.
  const table = stack.rt.storage.symbolKeysTable;
  let marked = false;
  const racingTable = new Proxy(table, {
    get(target, property, receiver) {
      if (property !== 'upsertEntity') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<TableClient['upsertEntity']>) => {
        const result = await target.upsertEntity(...args);
        if (!marked) {
          marked = true;
          await recordState(
            stack.rt.storage,
            'default',
            uid('racing.zip'),
            'deleting',
            'racing delete',
          );
        }
        return result;
      };
    },
  });
  await stack.upload('racing.zip', await pkg(['racing-key', 'racing-new-key'], 'racing, replaced'));
  const outcome = await indexPackage(
    { storage: { ...stack.rt.storage, symbolKeysTable: racingTable }, settings: stack.rt.settings },
    'default',
    'racing.zip',
  );
  expect(outcome).toEqual({ kind: 'deleting', packageUid: uid('racing.zip') });
  // The run took back every row it wrote, the old key's row (rewritten in place) included.
  expect(await rowCount(uid('racing.zip'))).toBe(0);
  await stack.rt.storage.deletesQueue.sendMessage(
    Buffer.from(
      JSON.stringify({ feed: 'default', packageUid: uid('racing.zip'), reason: 'racing delete' }),
    ).toString('base64'),
  );
  await until('racing.zip', 'deleted');
  expect(await rowCount(uid('racing.zip'))).toBe(0);
  // A package on its way out is not indexed again by a late event.
  await recordState(stack.rt.storage, 'default', uid('racing.zip'), 'deletingqueued');
  expect(await indexPackage(stack.rt, 'default', 'racing.zip')).toEqual({ kind: 'gone' });
});

it('marks a package partial, with the reason, when its delete keeps failing', async () => {
  await stack.upload('stuck.zip', await pkg(['stuck-key'], 'stuck'));
  await stack.indexed('stuck.zip');
  // A leased blob cannot be deleted without the lease: a real, lasting storage refusal.
  const blob = stack.rt.storage.packagesContainer.getBlobClient('default/stuck.zip');
  await blob.getBlobLeaseClient().acquireLease(-1);
  const handler = (deleter as DefinitionOf<'queue'>).options.handler;
  const message = { feed: 'default', packageUid: uid('stuck.zip'), reason: 'test' };
  const context = new InvocationContext({
    functionName: 'deleter',
    triggerMetadata: { dequeueCount: 5 },
  });
  await expect(handler(message, context)).rejects.toThrow();
  expect(await state('stuck.zip')).toBe('partial');
  const doc = await readStatusDocument(
    stack.rt.storage.statusContainer,
    'default',
    uid('stuck.zip'),
  );
  expect(doc?.errors.at(-1)).toMatch(/^the delete failed 5 times and was given up: /);
});

const manyKeys = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

it('stops serving a package on the instance that deletes it as soon as its delete begins', async () => {
  const keys = manyKeys('hide', 300);
  await stack.upload('hide-a.zip', await pkg([...keys, 'hide-shared'], 'from a'));
  await stack.indexed('hide-a.zip');
  await stack.upload('hide-b.zip', await pkg(['hide-shared'], 'from b'));
  await stack.indexed('hide-b.zip');
  // Remembered by this instance's location cache.
  expect(await get(keys[7]!)).toEqual({ status: 200, body: 'from a' });
  expect(await get('hide-shared')).toEqual({ status: 200, body: 'from a' });

  // The deleter is held before it changes a single row (its first transaction waits).
  const table = stack.rt.storage.symbolKeysTable;
  const submit = table.submitTransaction.bind(table);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  table.submitTransaction = async (...args) => {
    reached();
    await gate;
    return submit(...args);
  };
  try {
    const handler = (deleter as DefinitionOf<'queue'>).options.handler;
    const message = { feed: 'default', packageUid: uid('hide-a.zip'), reason: 'test' };
    const running = handler(message, new InvocationContext({ functionName: 'deleter' }));
    await held;
    expect(await get(keys[7]!)).toMatchObject({ status: 404 });
    expect(await get(keys[299]!)).toMatchObject({ status: 404 });
    expect(await get('hide-shared')).toEqual({ status: 200, body: 'from b' });
    release();
    await running;
  } finally {
    table.submitTransaction = submit;
  }
  expect(await state('hide-a.zip')).toBe('deleted');
  expect(await get('hide-shared')).toEqual({ status: 200, body: 'from b' });
});

it('hands the rest of a big delete to a further queue message, which finishes it', async () => {
  const keys = manyKeys('big', 250);
  await stack.upload('big.zip', await pkg(keys, 'big'));
  await stack.indexed('big.zip');
  // A queue the host does not poll, so the message this run sends can be looked at.
  const aside = stack.rt.storage.queues.getQueueClient('deletes-aside');
  await aside.createIfNotExists();
  const message = { feed: 'default', packageUid: uid('big.zip'), reason: 'test' };
  const outcome = await deletePackage(
    {
      storage: { ...stack.rt.storage, deletesQueue: aside },
      budget: { keysPerStep: 100, runMs: 0 },
    },
    message,
  );
  expect(outcome).toBe('continued');
  const [sent] = (await aside.receiveMessages()).receivedMessageItems;
  const next = JSON.parse(Buffer.from(sent!.messageText, 'base64').toString()) as unknown;
  expect(next).toEqual({ ...message, from: 100 });
  const served = async (key: string) =>
    (await findLocation(stack.rt.storage.symbolKeysTable, 'default', key))?.packageUid;
  expect(await served(keys[99]!)).toBeUndefined();
  expect(await served(keys[100]!)).toBe(uid('big.zip'));
  expect(await state('big.zip')).toBe('deleting');

  await stack.rt.storage.deletesQueue.sendMessage(sent!.messageText);
  await until('big.zip', 'deleted');
  expect(await rowCount(uid('big.zip'))).toBe(0);
  const doc = await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid('big.zip'));
  // One "deleting" however many messages the delete took.
  expect(doc?.history.map((h) => h.state).slice(-2)).toEqual(['deleting', 'deleted']);
});
