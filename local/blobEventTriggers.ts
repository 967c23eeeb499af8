import { createHash } from 'node:crypto';
import { ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { DefinitionOf } from '../functions/definition';
import {
  BLOB_CREATED,
  BLOB_DELETED,
  blobEventSubject,
  EventGridEvent,
} from '../shared/indexing/blobEvent';
import { LogLine } from './invocation';

/** Where the events sent are recorded: the Functions host's own container, as blob receipts are. */
const RECEIPTS_CONTAINER = 'azure-webjobs-hosts';
const RECEIPTS_PREFIX = 'symfeed-local/blob-events/';

/** A queue function fed by the blob events of a container. */
type Subscribed = DefinitionOf<'queue'> & { readonly blobEventsOf: string };

export function isSubscribed(definition: DefinitionOf<'queue'>): definition is Subscribed {
  return definition.blobEventsOf !== undefined;
}

/**
 * Stands in for the Event Grid subscription that delivers a container's blob events to a queue:
 * lists the container, compares ETags with the last listing, and sends one message a change,
 * exactly as Event Grid writes it (one event in the Event Grid schema, its JSON base64-encoded).
 * The queue function then takes them like any other messages. A blob seen before and gone now
 * was deleted. A send that fails is tried again at the next scan, as Event Grid retries delivery.
 *
 * What was sent is kept in storage, not only in memory, as the Functions host keeps its blob
 * receipts in `azure-webjobs-hosts`: Event Grid sends one event a change whether the app runs or
 * not, so a restarted host sends the changes made while it was down and nothing else. Sending
 * every blob again on start made a package whose run was cut off run twice at once (the new
 * event beside the old message coming back).
 */
export class BlobEventScanner {
  private seen: Map<string, string> | undefined;
  private listing: Promise<void> | undefined;
  private sequence = 0;

  constructor(
    private readonly definitions: readonly Subscribed[],
    private readonly container: (name: string) => ContainerClient,
    private readonly queues: QueueServiceClient,
    private readonly log: LogLine,
  ) {}

  /** Runs one scan, or joins the one under way; its events are in their queues when it ends. */
  scan(): Promise<void> {
    this.listing ??= this.scanAll().finally(() => (this.listing = undefined));
    return this.listing;
  }

  /** Waits for the scan under way, if any. */
  async idle(): Promise<void> {
    await this.listing;
  }

  private async scanAll(): Promise<void> {
    this.seen ??= await this.sentBefore();
    for (const definition of this.definitions) {
      try {
        await this.scanContainer(definition);
      } catch (error) {
        this.log(`${definition.name}: container scan failed: ${(error as Error).message}`);
      }
    }
  }

  /** The ETag each blob had when its last event was sent, by earlier runs of this host too. */
  private async sentBefore(): Promise<Map<string, string>> {
    const receipts = this.container(RECEIPTS_CONTAINER);
    await receipts.createIfNotExists();
    const sent = new Map<string, string>();
    for await (const receipt of receipts.listBlobsFlat({
      prefix: RECEIPTS_PREFIX,
      includeMetadata: true,
    })) {
      const { etag, blob } = receipt.metadata ?? {};
      if (etag !== undefined && blob !== undefined) sent.set(decodeURIComponent(blob), etag);
    }
    return sent;
  }

  private async remember(id: string, etag: string | undefined): Promise<void> {
    // Named by a digest: the id may be as long as a blob name may be, and not ASCII.
    const digest = createHash('sha256').update(id).digest('hex');
    const receipt = this.container(RECEIPTS_CONTAINER).getBlockBlobClient(RECEIPTS_PREFIX + digest);
    if (etag === undefined) {
      this.seen!.delete(id);
      await receipt.deleteIfExists();
    } else {
      this.seen!.set(id, etag);
      await receipt.upload('', 0, { metadata: { etag, blob: encodeURIComponent(id) } });
    }
  }

  private async scanContainer(definition: Subscribed): Promise<void> {
    const seen = this.seen!;
    const container = this.container(definition.blobEventsOf);
    const present = new Set<string>();
    const key = (name: string) => `${definition.name}/${name}`;
    for await (const blob of container.listBlobsFlat()) {
      present.add(key(blob.name));
      const etag = blob.properties.etag ?? '';
      if (seen.get(key(blob.name)) === etag) continue;
      await this.send(definition, container, BLOB_CREATED, blob.name, {
        api: 'PutBlob',
        // Event Grid's is unquoted, as listings give it (a blob's properties quote it).
        eTag: etag.replace(/^"(.*)"$/, '$1'),
        contentType: blob.properties.contentType ?? 'application/octet-stream',
        contentLength: blob.properties.contentLength ?? 0,
        blobType: blob.properties.blobType ?? 'BlockBlob',
      });
      await this.remember(key(blob.name), etag);
    }
    const prefix = key('');
    for (const id of [...seen.keys()]) {
      if (!id.startsWith(prefix) || present.has(id)) continue;
      await this.send(definition, container, BLOB_DELETED, id.slice(prefix.length), {
        api: 'DeleteBlob',
        contentType: 'application/octet-stream',
        blobType: 'BlockBlob',
      });
      await this.remember(id, undefined);
    }
  }

  private async send(
    definition: Subscribed,
    container: ContainerClient,
    eventType: string,
    blobName: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const event: EventGridEvent = {
      id: crypto.randomUUID(),
      topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/${container.accountName}`,
      subject: blobEventSubject(definition.blobEventsOf, blobName),
      eventType,
      eventTime: new Date().toISOString(),
      data: {
        ...data,
        clientRequestId: crypto.randomUUID(),
        requestId: crypto.randomUUID(),
        url: container.getBlobClient(blobName).url,
        // Orders the events of one blob, as storage's own sequencer does.
        sequencer: `${Date.now().toString(16).padStart(16, '0')}${(this.sequence++).toString(16).padStart(16, '0')}`,
      },
      dataVersion: '',
      metadataVersion: '1',
    };
    await this.queues
      .getQueueClient(definition.options.queueName)
      .sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));
  }
}
