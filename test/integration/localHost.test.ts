import { EventGridEvent, Timer } from '@azure/functions';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { BLOB_EVENT_CONCURRENCY } from '../../local/blobEventTriggers';
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
/** Blob events of the container `slow` wait in their handler until released by name. */
const slow = { running: new Set<string>(), done: new Set<string>(), most: 0, all: false };
const releases = new Map<string, () => void>();
const release = (name: string) => releases.get(name)?.();

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
  storage = createStorageClients(azurite.connection);
  await storage.queues.getQueueClient('work').create();
  await storage.queues.getQueueClient('work-poison').create();
  await storage.blobs.getContainerClient('drops').create();
  await storage.blobs.getContainerClient('slow').create();
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
      {
        kind: 'blobEvents',
        name: 'slowly',
        container: 'slow',
        options: {
          handler: async (event) => {
            const name = event.subject.replace(/^.*\/blobs\//, '');
            slow.running.add(name);
            slow.most = Math.max(slow.most, slow.running.size);
            if (!slow.all) await new Promise<void>((resolve) => releases.set(name, resolve));
            slow.running.delete(name);
            slow.done.add(name);
          },
        },
      },
    ],
  });
});

afterAll(async () => {
  slow.all = true;
  releases.forEach((resolve) => resolve());
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

describe('blob events', () => {
  const upload = (name: string) =>
    storage.blobs.getContainerClient('slow').getBlockBlobClient(name).upload(name, name.length);

  it('are handled a few at once: a slow package does not hold up one uploaded after it', async () => {
    await upload('large.nupkg');
    expect(await until(() => slow.running.has('large.nupkg'))).toBe(true);
    await upload('small.nupkg');
    expect(await until(() => slow.running.has('small.nupkg'))).toBe(true);
    release('small.nupkg');
    expect(await until(() => slow.done.has('small.nupkg'))).toBe(true);
    expect(slow.running.has('large.nupkg')).toBe(true);
    release('large.nupkg');
    expect(await until(() => slow.done.has('large.nupkg'))).toBe(true);
  });

  it(`are handled at most ${BLOB_EVENT_CONCURRENCY} at once`, async () => {
    const names = Array.from({ length: BLOB_EVENT_CONCURRENCY + 2 }, (_, i) => `many-${i}.zip`);
    await Promise.all(names.map(upload));
    expect(await until(() => slow.running.size === BLOB_EVENT_CONCURRENCY)).toBe(true);
    // Every blob has been listed by now; the ones over the limit wait for a slot.
    await until(() => false, 2_000);
    expect(slow.running.size).toBe(BLOB_EVENT_CONCURRENCY);
    const allDone = () => {
      names.forEach(release);
      return names.every((name) => slow.done.has(name));
    };
    expect(await until(allDone)).toBe(true);
    expect(slow.most).toBe(BLOB_EVENT_CONCURRENCY);
  });
});
