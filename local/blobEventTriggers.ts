import { EventGridEvent } from '@azure/functions';
import { ContainerClient } from '@azure/storage-blob';
import { DefinitionOf } from '../functions/definition';
import { blobEventSubject } from '../shared/indexing/blobEvent';
import { invocationContext, LogLine } from './invocation';

/** Event Grid retries a failed delivery a bounded number of times, and so does the scan. */
const MAX_ATTEMPTS = 5;

/**
 * Turns new and replaced blobs into the BlobCreated events the storage account's Event Grid
 * subscription delivers in Azure, by listing the container and comparing ETags.
 */
export class BlobEventScanner {
  private readonly seen = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly definitions: readonly DefinitionOf<'blobEvents'>[],
    private readonly container: (name: string) => ContainerClient,
    private readonly log: LogLine,
  ) {}

  /** Runs one scan, or joins the one under way. */
  scan(): Promise<void> {
    this.running ??= this.scanAll().finally(() => (this.running = undefined));
    return this.running;
  }

  async idle(): Promise<void> {
    await this.running;
  }

  private async scanAll(): Promise<void> {
    for (const definition of this.definitions) {
      try {
        await this.scanContainer(definition);
      } catch (error) {
        this.log(`${definition.name}: container scan failed: ${(error as Error).message}`);
      }
    }
  }

  private async scanContainer(definition: DefinitionOf<'blobEvents'>) {
    const container = this.container(definition.container);
    const present = new Set<string>();
    for await (const blob of container.listBlobsFlat()) {
      const id = `${definition.name}\n${blob.name}`;
      present.add(id);
      const etag = blob.properties.etag;
      if (this.seen.get(id) === etag) continue;
      const event: EventGridEvent = {
        id: crypto.randomUUID(),
        topic: 'local',
        eventType: 'Microsoft.Storage.BlobCreated',
        subject: blobEventSubject(definition.container, blob.name),
        eventTime: new Date().toISOString(),
        dataVersion: '',
        metadataVersion: '1',
        data: {
          api: 'PutBlob',
          eTag: etag,
          contentLength: blob.properties.contentLength ?? 0,
          url: container.getBlobClient(blob.name).url,
          blobType: 'BlockBlob',
        },
      };
      if (await this.deliver(definition, id, event)) this.seen.set(id, etag);
    }
    // A blob seen before and gone now was deleted: Event Grid sends BlobDeleted.
    const prefix = `${definition.name}\n`;
    for (const id of [...this.seen.keys()]) {
      if (!id.startsWith(prefix) || present.has(id)) continue;
      const name = id.slice(prefix.length);
      const event: EventGridEvent = {
        id: crypto.randomUUID(),
        topic: 'local',
        eventType: 'Microsoft.Storage.BlobDeleted',
        subject: blobEventSubject(definition.container, name),
        eventTime: new Date().toISOString(),
        dataVersion: '',
        metadataVersion: '1',
        data: { api: 'DeleteBlob', url: container.getBlobClient(name).url, blobType: 'BlockBlob' },
      };
      if (await this.deliver(definition, id, event)) this.seen.delete(id);
    }
  }

  /** Hands one event to the function; true when it is done with (delivered, or given up on). */
  private async deliver(
    definition: DefinitionOf<'blobEvents'>,
    id: string,
    event: EventGridEvent,
  ): Promise<boolean> {
    try {
      await definition.options.handler(
        event,
        invocationContext(definition.name, this.log, { ...event }),
      );
      this.failures.delete(id);
      return true;
    } catch (error) {
      const attempts = (this.failures.get(id) ?? 0) + 1;
      this.failures.set(id, attempts);
      this.log(
        `${definition.name}: ${event.subject}: attempt ${attempts} failed: ${(error as Error).message}`,
      );
      if (attempts < MAX_ATTEMPTS) return false;
      this.failures.delete(id);
      return true;
    }
  }
}
