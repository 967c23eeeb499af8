import { setTimeout as sleep } from 'node:timers/promises';
import { DequeuedMessageItem, QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { DefinitionOf } from '../functions/definition';
import { QueueHostSettings } from '../shared/config/hostJson';
import { invocationContext, LogLine } from './invocation';

/**
 * How long a message under way stays invisible at a time; it is renewed at half-time for as long
 * as its handler runs. The Functions host takes 10 minutes; here a message whose host was stopped
 * comes back within 30 s, which is all this changes.
 */
export const MESSAGE_LEASE_SECONDS = 30;

/** Strict base64, as .NET's Convert.FromBase64String reads it: Node's decoder skips bad input. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What the host hands a handler: the message text decoded, then JSON when it parses. */
function payloadOf(text: string, encoding: QueueHostSettings['messageEncoding']): unknown {
  let decoded = text;
  if (encoding === 'base64') {
    if (!BASE64.test(text)) {
      throw new Error(
        'the message is not valid base64, the encoding host.json extensions.queues.messageEncoding names',
      );
    }
    decoded = Buffer.from(text, 'base64').toString('utf8');
  }
  try {
    return JSON.parse(decoded);
  } catch {
    return decoded;
  }
}

/**
 * Runs queue-triggered functions as the Functions host does (its QueueListener and
 * QueueProcessor): take `batchSize` messages, start each at once, take more as soon as no more
 * than `newBatchThreshold` are under way, so one slow message never holds up the rest. A message
 * under way stays invisible for as long as its handler runs. On success it is deleted; on failure
 * it comes back after `visibilityTimeout`, and the attempt numbered `maxDequeueCount` that fails
 * moves it to `{queue}-poison`, as does a message dequeued more often than that (its host died).
 */
export class QueuePoller {
  /** Handlers under way, by function. */
  private readonly running = new Map<string, Set<Promise<void>>>();
  /** The receive loop of each function, while one runs. */
  private readonly receiving = new Map<string, Promise<void>>();
  private closing = false;

  constructor(
    private readonly definitions: readonly DefinitionOf<'queue'>[],
    private readonly queues: QueueServiceClient,
    private readonly log: LogLine,
    private readonly settings: QueueHostSettings,
    private readonly leaseSeconds = MESSAGE_LEASE_SECONDS,
  ) {}

  /** Takes what each queue holds, as far as there is room; the messages taken are under way. */
  async poll(): Promise<void> {
    await Promise.all(this.definitions.map((definition) => this.receive(definition)));
  }

  /** Waits until no handler runs and no queue is being read. */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [
        ...this.receiving.values(),
        ...[...this.running.values()].flatMap((set) => [...set]),
      ];
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** Takes no more messages and waits for the handlers under way. */
  async idle(): Promise<void> {
    this.closing = true;
    await this.settled();
  }

  private receive(definition: DefinitionOf<'queue'>): Promise<void> {
    const under = this.receiving.get(definition.name);
    if (under) return under;
    const loop = this.receiveWhileRoom(definition)
      .catch((error: Error) =>
        this.log(
          `${definition.name}: polling ${definition.options.queueName} failed: ${error.message}`,
        ),
      )
      .finally(() => this.receiving.delete(definition.name));
    this.receiving.set(definition.name, loop);
    return loop;
  }

  private async receiveWhileRoom(definition: DefinitionOf<'queue'>): Promise<void> {
    const queue = this.queues.getQueueClient(definition.options.queueName);
    const running = this.runningOf(definition);
    while (!this.closing && running.size <= this.settings.newBatchThreshold) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: this.settings.batchSize,
        visibilityTimeout: this.leaseSeconds,
      });
      if (receivedMessageItems.length === 0) return;
      for (const message of receivedMessageItems) {
        const run = this.process(definition, queue, message).finally(() => {
          running.delete(run);
          // As the host does when one of its messages finishes: take the next at once.
          if (!this.closing) void this.receive(definition);
        });
        running.add(run);
      }
    }
  }

  private runningOf(definition: DefinitionOf<'queue'>): Set<Promise<void>> {
    let set = this.running.get(definition.name);
    if (!set) {
      set = new Set();
      this.running.set(definition.name, set);
    }
    return set;
  }

  private async process(
    definition: DefinitionOf<'queue'>,
    queue: QueueClient,
    message: DequeuedMessageItem,
  ): Promise<void> {
    const { name } = definition;
    const { maxDequeueCount, visibilityTimeoutSeconds } = this.settings;
    try {
      if (message.dequeueCount > maxDequeueCount) {
        await this.poison(definition, queue, message, message.popReceipt);
        return;
      }
      const lease = new Lease(queue, message, this.leaseSeconds, this.log);
      let failed = true;
      try {
        await definition.options.handler(
          payloadOf(message.messageText, this.settings.messageEncoding),
          invocationContext(name, this.log, {
            id: message.messageId,
            dequeueCount: message.dequeueCount,
            insertionTime: message.insertedOn.toISOString(),
            expirationTime: message.expiresOn.toISOString(),
            popReceipt: message.popReceipt,
          }),
        );
        failed = false;
      } catch (error) {
        this.log(
          `${name}: message ${message.messageId} attempt ${message.dequeueCount} failed: ${(error as Error).message}`,
        );
      }
      const popReceipt = await lease.end();
      if (!failed) await queue.deleteMessage(message.messageId, popReceipt);
      else if (message.dequeueCount >= maxDequeueCount) {
        await this.poison(definition, queue, message, popReceipt);
      } else {
        await queue.updateMessage(
          message.messageId,
          popReceipt,
          undefined,
          visibilityTimeoutSeconds,
        );
      }
    } catch (error) {
      // As in the host: the message comes back when its lease runs out.
      this.log(`${name}: message ${message.messageId}: ${(error as Error).message}`);
    }
  }

  private async poison(
    definition: DefinitionOf<'queue'>,
    queue: QueueClient,
    message: DequeuedMessageItem,
    popReceipt: string,
  ): Promise<void> {
    const poisonQueue = this.queues.getQueueClient(`${definition.options.queueName}-poison`);
    await poisonQueue.createIfNotExists();
    await poisonQueue.sendMessage(message.messageText);
    await queue.deleteMessage(message.messageId, popReceipt);
    this.log(
      `${definition.name}: message ${message.messageId} moved to the poison queue after ${message.dequeueCount} attempts`,
    );
  }
}

/** Keeps a message invisible while its handler runs, renewing at half-time as the host does. */
class Lease {
  private popReceipt: string;
  private readonly stopped = new AbortController();
  private readonly renewing: Promise<void>;

  constructor(
    private readonly queue: QueueClient,
    private readonly message: DequeuedMessageItem,
    private readonly seconds: number,
    log: LogLine,
  ) {
    this.popReceipt = message.popReceipt;
    this.renewing = this.renew().catch((error: Error) => {
      if (error.name !== 'AbortError') {
        log(`message ${message.messageId}: its lease could not be renewed: ${error.message}`);
      }
    });
  }

  private async renew(): Promise<void> {
    for (;;) {
      await sleep((this.seconds * 1000) / 2, undefined, { signal: this.stopped.signal });
      const { popReceipt } = await this.queue.updateMessage(
        this.message.messageId,
        this.popReceipt,
        undefined,
        this.seconds,
      );
      if (popReceipt) this.popReceipt = popReceipt;
    }
  }

  /** Stops renewing; the receipt that deletes or releases the message now. */
  async end(): Promise<string> {
    this.stopped.abort();
    await this.renewing;
    return this.popReceipt;
  }
}
