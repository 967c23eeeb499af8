import { BlockBlobClient } from '@azure/storage-blob';
import { readJsonBlobIfChanged, StoredJson } from './jsonBlob';

export interface JsonBlobMemoryLimits {
  /** Bytes of stored JSON remembered at most; the least recently read go first. */
  readonly maxBytes: number;
  /** How long a document is served without asking storage; then a conditional GET revalidates it. */
  readonly freshMs: number;
}

interface Entry {
  readonly stored: StoredJson<unknown>;
  checkedAt: number;
}

/**
 * This process's memory of parsed JSON blobs, so that a document read under load (a listing page
 * of a few hundred KB) is fetched and parsed once per interval, not once per request. A document
 * is trusted for `freshMs`, then revalidated with If-None-Match: a 304 keeps the parsed document,
 * so a change written elsewhere shows within that bound (a document read in the second half of
 * its bound is revalidated then, in the background). Reads of one blob at once share one GET.
 * This process's writers call `forget` after each write, so their changes show at once. Documents
 * are shared between callers, who must not change them. Absent blobs are not remembered.
 */
export class JsonBlobMemory {
  /** Map order is recency order: the first entry is the least recently read. */
  private readonly entries = new Map<string, Entry>();
  private readonly reading = new Map<string, Promise<StoredJson<unknown> | undefined>>();
  private bytes = 0;
  /** Counts forgets: a read begun before one must not store what it read. */
  private generation = 0;

  constructor(
    private readonly limits: JsonBlobMemoryLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async read<T>(blob: BlockBlobClient): Promise<StoredJson<T> | undefined> {
    const key = keyOf(blob);
    const entry = this.entries.get(key);
    const age = entry ? this.now() - entry.checkedAt : Infinity;
    if (entry && age < this.limits.freshMs) {
      this.touch(key, entry);
      // Past half its bound, a document read is revalidated in the background: a hot document
      // then never expires under its readers, who would all wait on its one read together.
      if (age >= this.limits.freshMs / 2) this.revalidate(key, blob, entry).catch(() => undefined);
      return entry.stored as StoredJson<T>;
    }
    return (await this.revalidate(key, blob, entry)) as StoredJson<T> | undefined;
  }

  /** The read of the blob in flight, or a new one: one at a time per blob. */
  private revalidate(
    key: string,
    blob: BlockBlobClient,
    known: Entry | undefined,
  ): Promise<StoredJson<unknown> | undefined> {
    let pending = this.reading.get(key);
    if (!pending) {
      pending = this.fetch(key, blob, known).finally(() => {
        if (this.reading.get(key) === pending) this.reading.delete(key);
      });
      this.reading.set(key, pending);
    }
    return pending;
  }

  /** Drops what is remembered of the blob, and any read of it in flight, after a write here. */
  forget(blob: BlockBlobClient): void {
    const key = keyOf(blob);
    this.generation++;
    this.reading.delete(key);
    this.drop(key);
  }

  /** Bytes of stored JSON remembered now. */
  get size(): number {
    return this.bytes;
  }

  private async fetch(
    key: string,
    blob: BlockBlobClient,
    known: Entry | undefined,
  ): Promise<StoredJson<unknown> | undefined> {
    const generation = this.generation;
    const read = await readJsonBlobIfChanged<unknown>(blob, known?.stored.etag);
    const stored = read === 'unchanged' ? known!.stored : read;
    if (generation !== this.generation) return stored;
    this.drop(key);
    if (stored && stored.bytes <= this.limits.maxBytes) {
      this.entries.set(key, { stored, checkedAt: this.now() });
      this.bytes += stored.bytes;
      for (const [oldest, entry] of this.entries) {
        if (this.bytes <= this.limits.maxBytes) break;
        this.entries.delete(oldest);
        this.bytes -= entry.stored.bytes;
      }
    }
    return stored;
  }

  private touch(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.stored.bytes;
  }
}

function keyOf(blob: BlockBlobClient): string {
  return `${blob.containerName}/${blob.name}`;
}
