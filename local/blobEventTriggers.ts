import { EventGridEvent } from '@azure/functions';
import { ContainerClient } from '@azure/storage-blob';
import { DefinitionOf } from '../functions/definition';
import { blobEventSubject } from '../shared/indexing/blobEvent';
import { invocationContext, LogLine } from './invocation';

/**
 * How many blob events are handled at once: a few, as the Functions host runs several
 * invocations at a time, so that one slow package does not hold up the others; no more, as
 * each indexing run holds a package's directory and keys in memory.
 */
export const BLOB_EVENT_CONCURRENCY = 4;

/** Event Grid retries a failed delivery a bounded number of times, and so does the scan. */
const MAX_ATTEMPTS = 5;

/**
 * Turns new and replaced blobs into the BlobCreated events the storage account's Event Grid
 * subscription delivers in Azure, by listing the container and comparing ETags. A scan hands each
 * event over and goes on; the events run up to `concurrency` at once, one at a time per blob.
 */
export class BlobEventScanner {
  private readonly seen = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  /** Deliveries started or waiting for a slot, by blob. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private listing: Promise<void> | undefined;
  private closing = false;

  constructor(
    private readonly definitions: readonly DefinitionOf<'blobEvents'>[],
    private readonly container: (name: string) => ContainerClient,
    private readonly log: LogLine,
    private readonly concurrency = BLOB_EVENT_CONCURRENCY,
  ) {}

  /** Runs one scan, or joins the one under way; the events it finds are under way when it ends. */
  scan(): Promise<void> {
    this.listing ??= this.scanAll().finally(() => (this.listing = undefined));
    return this.listing;
  }

  /** Waits for the events under way. */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  /** Starts no more events and waits for the ones running. */
  async idle(): Promise<void> {
    this.closing = true;
    for (const start of this.waiting.splice(0)) {
      this.active++;
      start();
    }
    await this.listing;
    await this.settled();
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
      if (this.seen.get(id) === etag || this.inFlight.has(id)) continue;
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
      this.dispatch(definition, id, event, () => this.seen.set(id, etag));
    }
    // A blob seen before and gone now was deleted: Event Grid sends BlobDeleted.
    const prefix = `${definition.name}\n`;
    for (const id of [...this.seen.keys()]) {
      if (!id.startsWith(prefix) || present.has(id) || this.inFlight.has(id)) continue;
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
      this.dispatch(definition, id, event, () => this.seen.delete(id));
    }
  }

  /** Queues one event for a slot; `done` runs once it is delivered or given up on. */
  private dispatch(
    definition: DefinitionOf<'blobEvents'>,
    id: string,
    event: EventGridEvent,
    done: () => void,
  ): void {
    const delivery = (async () => {
      await this.slot();
      try {
        // An event not started before the host stops is found again by the next scan.
        if (!this.closing && (await this.deliver(definition, id, event))) done();
      } finally {
        this.inFlight.delete(id);
        this.releaseSlot();
      }
    })();
    this.inFlight.set(id, delivery);
  }

  private async slot(): Promise<void> {
    if (this.active < this.concurrency || this.closing) {
      this.active++;
      return;
    }
    // Woken by releaseSlot, which hands its slot over.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
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
