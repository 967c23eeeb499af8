import { Timer } from '@azure/functions';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { LocalHost, startLocalHost } from '../../local/host';
import { QueueHostSettings } from '../../shared/config/hostJson';
import { EventGridEvent, eventGridEventSchema } from '../../shared/indexing/blobEvent';
import { createStorageClients, StorageClients } from '../../shared/storage/clients';
import { freePort } from '../support/stack';

/**
 * The local host drives queue and timer declarations the way the Functions host does, and puts
 * blob events into queues the way an Event Grid subscription does. These declarations exist only
 * here; symfeed's own are exercised by the other integration tests.
 */
let azurite: RunningAzurite;
let host: LocalHost;
let storage: StorageClients;
/** How long a message under way stays invisible at a time, shortened from the host's. */
const LEASE_SECONDS = 1;
/** host.json's queue settings, with a failed message back after a second. */
const SETTINGS: QueueHostSettings = {
  batchSize: 1,
  newBatchThreshold: 3,
  maxDequeueCount: 2,
  visibilityTimeoutSeconds: 1,
  maxPollingIntervalMs: 2_000,
  messageEncoding: 'base64',
};
const AT_ONCE = SETTINGS.batchSize + SETTINGS.newBatchThreshold;
const received: unknown[] = [];
const events: unknown[] = [];
const ticks: Timer[] = [];
const logs: string[] = [];
/** Messages of the queue `slowwork`, by name: started, and held until let go. */
const held = { started: new Set<string>(), running: new Set<string>(), done: new Set<string>() };
let mostAtOnce = 0;
const letGo = new Map<string, () => void>();
/** Attempts at messages of the queue `longwork`, which run for three leases each. */
const long: { name: string; dequeueCount: number }[] = [];

const until = async (condition: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
};

const QUEUES = ['work', 'slowwork', 'longwork', 'drop-events'];

beforeAll(async () => {
  azurite = await startAzurite({
    ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
  });
  storage = createStorageClients(azurite.connection);
  for (const name of QUEUES) {
    await storage.queues.getQueueClient(name).create();
    await storage.queues.getQueueClient(`${name}-poison`).create();
  }
  await storage.blobs.getContainerClient('drops').create();
  host = await startLocalHost({
    port: 0,
    container: (name) => storage.blobs.getContainerClient(name),
    queues: storage.queues,
    pollIntervalMs: 200,
    queueSettings: SETTINGS,
    messageLeaseSeconds: LEASE_SECONDS,
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
        kind: 'queue',
        name: 'slowworker',
        options: {
          queueName: 'slowwork',
          connection: 'AzureWebJobsStorage',
          handler: async (message) => {
            const name = (message as { name: string }).name;
            held.started.add(name);
            held.running.add(name);
            mostAtOnce = Math.max(mostAtOnce, held.running.size);
            await new Promise<void>((resolve) => letGo.set(name, resolve));
            held.running.delete(name);
            held.done.add(name);
          },
        },
      },
      {
        kind: 'queue',
        name: 'longworker',
        options: {
          queueName: 'longwork',
          connection: 'AzureWebJobsStorage',
          handler: async (message, context) => {
            const { name } = message as { name: string };
            long.push({ name, dequeueCount: Number(context.triggerMetadata?.dequeueCount) });
            await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_SECONDS * 1000));
          },
        },
      },
      {
        kind: 'queue',
        name: 'dropped',
        options: {
          queueName: 'drop-events',
          connection: 'AzureWebJobsStorage',
          handler: async (event) => void events.push(event),
        },
        blobEventsOf: 'drops',
      },
      {
        kind: 'timer',
        name: 'ticker',
        options: { schedule: '*/1 * * * * *', handler: async (timer) => void ticks.push(timer) },
      },
    ],
  });
});

afterAll(async () => {
  letGo.forEach((resolve) => resolve());
  await host?.close();
  await azurite?.stop();
});

const sendTo = (queue: string, payload: unknown) =>
  storage.queues
    .getQueueClient(queue)
    .sendMessage(Buffer.from(JSON.stringify(payload)).toString('base64'));

it('delivers queue messages as decoded JSON and deletes them', async () => {
  await sendTo('work', { feed: 'default', packageUid: 'abc' });
  expect(await until(() => received.length === 1)).toBe(true);
  expect(received[0]).toEqual({ feed: 'default', packageUid: 'abc' });
  const left = await storage.queues.getQueueClient('work').peekMessages();
  expect(left.peekedMessageItems).toEqual([]);
});

it('moves a message to the poison queue when its last attempt fails', async () => {
  await sendTo('work', { fail: true });
  const poison = storage.queues.getQueueClient('work-poison');
  expect(
    await until(() => logs.some((line) => line.includes('moved to the poison queue')), 15_000),
  ).toBe(true);
  const { peekedMessageItems } = await poison.peekMessages();
  expect(Buffer.from(peekedMessageItems[0]!.messageText, 'base64').toString()).toBe(
    '{"fail":true}',
  );
  expect(logs.filter((line) => line.includes('this message always fails')).length).toBe(
    SETTINGS.maxDequeueCount,
  );
});

it('fails a message that is not base64, saying so, as the Functions host does', async () => {
  await storage.queues.getQueueClient('work').sendMessage('{"plain": "json"}');
  expect(await until(() => logs.some((line) => line.includes('is not valid base64')), 15_000)).toBe(
    true,
  );
  expect(received).not.toContainEqual({ plain: 'json' });
});

describe('queue messages', () => {
  it('run a few at once: one slow message does not hold up those sent after it', async () => {
    await sendTo('slowwork', { name: 'slow' });
    expect(await until(() => held.started.has('slow'))).toBe(true);
    await sendTo('slowwork', { name: 'quick' });
    expect(await until(() => held.started.has('quick'))).toBe(true);
    letGo.get('quick')?.();
    expect(await until(() => held.done.has('quick'))).toBe(true);
    expect(held.done.has('slow')).toBe(false);
    letGo.get('slow')?.();
    expect(await until(() => held.done.has('slow'))).toBe(true);
  });

  it(`run at most batchSize + newBatchThreshold (${AT_ONCE}) at once`, async () => {
    const names = Array.from({ length: AT_ONCE + 2 }, (_, i) => `many-${i}`);
    await Promise.all(names.map((name) => sendTo('slowwork', { name })));
    expect(await until(() => held.running.size === AT_ONCE)).toBe(true);
    // The host polls every 200 ms: the ones over the limit stay in the queue meanwhile.
    await until(() => false, 2_000);
    expect(held.running.size).toBe(AT_ONCE);
    const allDone = () => {
      names.forEach((name) => letGo.get(name)?.());
      return names.every((name) => held.done.has(name));
    };
    expect(await until(allDone)).toBe(true);
    expect(mostAtOnce).toBe(AT_ONCE);
  });

  it('are not delivered again while they run, however long they take', async () => {
    await sendTo('longwork', { name: 'long' });
    expect(await until(() => long.length > 0)).toBe(true);
    // Three leases long, then a lease more for a second delivery to show up if there were one.
    await until(() => false, 4 * LEASE_SECONDS * 1000);
    expect(long).toEqual([{ name: 'long', dequeueCount: 1 }]);
    const { peekedMessageItems } = await storage.queues.getQueueClient('longwork').peekMessages();
    expect(peekedMessageItems).toEqual([]);
  });

  it('are read as they are with host.json messageEncoding "none"', async () => {
    const plain: unknown[] = [];
    await storage.queues.getQueueClient('plainwork').create();
    const other = await startLocalHost({
      port: 0,
      container: (name) => storage.blobs.getContainerClient(name),
      queues: storage.queues,
      pollIntervalMs: 200,
      queueSettings: { ...SETTINGS, messageEncoding: 'none' },
      log: (line) => logs.push(line),
      definitions: [
        {
          kind: 'queue',
          name: 'plain',
          options: {
            queueName: 'plainwork',
            connection: 'AzureWebJobsStorage',
            handler: async (message) => void plain.push(message),
          },
        },
      ],
    });
    try {
      await storage.queues.getQueueClient('plainwork').sendMessage('{"plain": "json"}');
      expect(await until(() => plain.length === 1)).toBe(true);
      expect(plain).toEqual([{ plain: 'json' }]);
    } finally {
      await other.close();
    }
  });
});

it('runs timers on their NCRONTAB schedule', async () => {
  expect(await until(() => ticks.length >= 2, 5_000)).toBe(true);
  expect(ticks[0]!.scheduleStatus.next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
});

describe('blob events', () => {
  const blob = () => storage.blobs.getContainerClient('drops').getBlockBlobClient('some/thing.zip');

  it('go into the queue as Event Grid writes them: one event a message, in the Event Grid schema, base64', async () => {
    await blob().upload('one', 3);
    expect(await until(() => events.length === 1)).toBe(true);
    // The host read the message as base64 JSON (it fails any other text) and found one event.
    const event: EventGridEvent = eventGridEventSchema.parse(events[0]);
    expect(event).toMatchObject({
      eventType: 'Microsoft.Storage.BlobCreated',
      subject: '/blobServices/default/containers/drops/blobs/some/thing.zip',
      topic: expect.stringMatching(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/devstoreaccount1$/,
      ) as unknown,
      dataVersion: '',
      metadataVersion: '1',
      data: {
        api: 'PutBlob',
        eTag: (await blob().getProperties()).etag?.replace(/"/g, ''),
        contentLength: 3,
        blobType: 'BlockBlob',
        url: blob().url,
        sequencer: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
      },
    });
  });

  it('are one BlobCreated a new or replaced blob, and a BlobDeleted for a deleted one', async () => {
    await host.drain();
    expect(events).toHaveLength(1);
    await blob().upload('two!', 4);
    expect(await until(() => events.length === 2)).toBe(true);
    expect((events[1] as EventGridEvent).data).toMatchObject({ contentLength: 4 });
    await blob().delete();
    expect(await until(() => events.length === 3)).toBe(true);
    expect(events[2]).toMatchObject({
      eventType: 'Microsoft.Storage.BlobDeleted',
      subject: '/blobServices/default/containers/drops/blobs/some/thing.zip',
      data: { api: 'DeleteBlob', url: blob().url },
    });
    const sequencers = events.map((event) => (event as EventGridEvent).data.sequencer as string);
    expect([...sequencers].sort()).toEqual(sequencers);
  });

  it('sends, after a restart, the changes made while the host was down and nothing else', async () => {
    const restarted: EventGridEvent[] = [];
    await storage.blobs.getContainerClient('restarts').create();
    await storage.queues.getQueueClient('restart-events').create();
    const start = () =>
      startLocalHost({
        port: 0,
        container: (name) => storage.blobs.getContainerClient(name),
        queues: storage.queues,
        pollIntervalMs: 200,
        queueSettings: SETTINGS,
        log: (line) => logs.push(line),
        definitions: [
          {
            kind: 'queue',
            name: 'restarting',
            options: {
              queueName: 'restart-events',
              connection: 'AzureWebJobsStorage',
              handler: async (event) => void restarted.push(eventGridEventSchema.parse(event)),
            },
            blobEventsOf: 'restarts',
          },
        ],
      });
    const drops = storage.blobs.getContainerClient('restarts');
    const put = (name: string, text: string) =>
      drops.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    const seen = () =>
      restarted.map((event) => `${event.eventType} ${event.subject.split('/').pop()}`);
    await put('kept.zip', 'kept');
    await put('gone.zip', 'gone');
    let first = await start();
    try {
      expect(await until(() => restarted.length === 2)).toBe(true);
    } finally {
      await first.close();
    }
    // While no host runs: one blob changed, one deleted, one new, one left alone.
    await put('gone.zip', 'changed');
    await drops.deleteBlob('gone.zip');
    await put('new.zip', 'new');
    restarted.length = 0;
    first = await start();
    try {
      expect(await until(() => restarted.length >= 2)).toBe(true);
      // A scan more, for an event too many to show up if there were one.
      await until(() => false, 1_000);
      expect(seen().sort()).toEqual([
        'Microsoft.Storage.BlobCreated new.zip',
        'Microsoft.Storage.BlobDeleted gone.zip',
      ]);
    } finally {
      await first.close();
    }
  });
});
