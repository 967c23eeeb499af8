import { EventGridEvent, Timer } from '@azure/functions';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { LocalHost, startLocalHost } from '../../local/host';
import { createStorageClients, StorageClients } from '../../shared/storage/clients';
import { freePort } from '../support/stack';

/**
 * The local host drives queue, timer and blob-event declarations the way the Functions host does.
 * These declarations exist only here; symfeed's own are exercised by the other integration tests.
 */
let azurite: RunningAzurite;
let host: LocalHost;
let storage: StorageClients;
const received: unknown[] = [];
const events: EventGridEvent[] = [];
const ticks: Timer[] = [];
const logs: string[] = [];

const until = async (condition: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
};

beforeAll(async () => {
  azurite = await startAzurite({
    ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
  });
  storage = createStorageClients(azurite.connectionString);
  await storage.queues.getQueueClient('work').create();
  await storage.queues.getQueueClient('work-poison').create();
  await storage.blobs.getContainerClient('drops').create();
  host = await startLocalHost({
    port: 0,
    container: (name) => storage.blobs.getContainerClient(name),
    queues: storage.queues,
    pollIntervalMs: 200,
    queueSettings: { batchSize: 16, maxDequeueCount: 2, visibilityTimeoutSeconds: 1 },
    log: (line) => logs.push(line),
    definitions: [
      {
        kind: 'queue',
        name: 'worker',
        options: {
          queueName: 'work',
          connection: 'AzureWebJobsStorage',
          handler: async (message) => {
            if ((message as { fail?: boolean }).fail) throw new Error('this message always fails');
            received.push(message);
          },
        },
      },
      {
        kind: 'timer',
        name: 'ticker',
        options: { schedule: '*/1 * * * * *', handler: async (timer) => void ticks.push(timer) },
      },
      {
        kind: 'blobEvents',
        name: 'dropped',
        container: 'drops',
        options: { handler: async (event) => void events.push(event) },
      },
    ],
  });
});

afterAll(async () => {
  await host?.close();
  await azurite?.stop();
});

const send = (payload: unknown) =>
  storage.queues
    .getQueueClient('work')
    .sendMessage(Buffer.from(JSON.stringify(payload)).toString('base64'));

it('delivers queue messages as decoded JSON and deletes them', async () => {
  await send({ feed: 'default', packageUid: 'abc' });
  expect(await until(() => received.length === 1)).toBe(true);
  expect(received[0]).toEqual({ feed: 'default', packageUid: 'abc' });
  const left = await storage.queues.getQueueClient('work').peekMessages();
  expect(left.peekedMessageItems).toEqual([]);
});

it('moves a message that keeps failing to the poison queue', async () => {
  await send({ fail: true });
  const poison = storage.queues.getQueueClient('work-poison');
  expect(
    await until(() => logs.some((line) => line.includes('moved to the poison queue')), 15_000),
  ).toBe(true);
  const { peekedMessageItems } = await poison.peekMessages();
  expect(Buffer.from(peekedMessageItems[0]!.messageText, 'base64').toString()).toBe(
    '{"fail":true}',
  );
  expect(logs.filter((line) => line.includes('this message always fails')).length).toBe(2);
});

it('runs timers on their NCRONTAB schedule', async () => {
  expect(await until(() => ticks.length >= 2, 5_000)).toBe(true);
  expect(ticks[0]!.scheduleStatus.next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
});

it('turns a new or replaced blob into one BlobCreated event each, and a deleted one into BlobDeleted', async () => {
  const blob = storage.blobs.getContainerClient('drops').getBlockBlobClient('some/thing.zip');
  await blob.upload('one', 3);
  expect(await until(() => events.length === 1)).toBe(true);
  expect(events[0]).toMatchObject({
    eventType: 'Microsoft.Storage.BlobCreated',
    subject: '/blobServices/default/containers/drops/blobs/some/thing.zip',
  });
  await host.drain();
  expect(events).toHaveLength(1);
  await blob.upload('two!', 4);
  expect(await until(() => events.length === 2)).toBe(true);
  expect(events[1]!.data).toMatchObject({ contentLength: 4 });
  await blob.delete();
  expect(await until(() => events.length === 3)).toBe(true);
  expect(events[2]).toMatchObject({
    eventType: 'Microsoft.Storage.BlobDeleted',
    subject: '/blobServices/default/containers/drops/blobs/some/thing.zip',
  });
});
