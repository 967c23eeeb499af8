import { QueueServiceClient } from '@azure/storage-queue';
import { DefinitionOf } from '../functions/definition';
import { invocationContext, LogLine } from './invocation';

/** The queue settings of host.json that the Functions host applies, mirrored here. */
export interface QueueHostSettings {
  readonly batchSize: number;
  readonly maxDequeueCount: number;
  readonly visibilityTimeoutSeconds: number;
}

export const QUEUE_HOST_SETTINGS: QueueHostSettings = {
  batchSize: 16,
  maxDequeueCount: 5,
  visibilityTimeoutSeconds: 30,
};

/**
 * Polls each trigger's queue as the Functions host does: a message is decoded (base64, then JSON
 * when it parses), handed to the handler, deleted on success, left to reappear after the
 * visibility timeout on failure, and moved to "{queue}-poison" after maxDequeueCount attempts.
 */
export class QueuePoller {
  private running: Promise<void> | undefined;

  constructor(
    private readonly definitions: readonly DefinitionOf<'queue'>[],
    private readonly queues: QueueServiceClient,
    private readonly log: LogLine,
    private readonly settings: QueueHostSettings = QUEUE_HOST_SETTINGS,
  ) {}

  poll(): Promise<void> {
    this.running ??= this.pollAll().finally(() => (this.running = undefined));
    return this.running;
  }

  async idle(): Promise<void> {
    await this.running;
  }

  private async pollAll(): Promise<void> {
    for (const definition of this.definitions) {
      try {
        await this.pollQueue(definition);
      } catch (error) {
        this.log(
          `${definition.name}: polling ${definition.options.queueName} failed: ${(error as Error).message}`,
        );
      }
    }
  }

  private async pollQueue(definition: DefinitionOf<'queue'>): Promise<void> {
    const queue = this.queues.getQueueClient(definition.options.queueName);
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: this.settings.batchSize,
      visibilityTimeout: this.settings.visibilityTimeoutSeconds,
    });
    await Promise.all(
      receivedMessageItems.map(async (message) => {
        const text = Buffer.from(message.messageText, 'base64').toString('utf8');
        if (message.dequeueCount > this.settings.maxDequeueCount) {
          await this.queues
            .getQueueClient(`${definition.options.queueName}-poison`)
            .sendMessage(message.messageText);
          await queue.deleteMessage(message.messageId, message.popReceipt);
          this.log(`${definition.name}: message ${message.messageId} moved to the poison queue`);
          return;
        }
        try {
          await definition.options.handler(
            parsePayload(text),
            invocationContext(definition.name, this.log, {
              id: message.messageId,
              dequeueCount: message.dequeueCount,
              insertionTime: message.insertedOn.toISOString(),
            }),
          );
          await queue.deleteMessage(message.messageId, message.popReceipt);
        } catch (error) {
          this.log(
            `${definition.name}: message ${message.messageId} attempt ${message.dequeueCount} failed: ${(error as Error).message}`,
          );
        }
      }),
    );
  }
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
