import { BlockBlobClient, RestError } from '@azure/storage-blob';

/** A JSON document as read, with the ETag that a conditional write over it names. */
export interface StoredJson<T> {
  readonly doc: T;
  readonly etag: string;
  /** The document's size as stored, for a memory bounded by bytes. */
  readonly bytes: number;
}

/** One GET, so that a document read while it is rewritten comes back whole, with its ETag. */
export async function readJsonBlob<T>(blob: BlockBlobClient): Promise<StoredJson<T> | undefined> {
  const read = await readJsonBlobIfChanged<T>(blob, undefined);
  return read === 'unchanged' ? undefined : read;
}

/**
 * As readJsonBlob, but 'unchanged' when the blob's ETag is still `etag` (a 304: no body sent,
 * none parsed).
 */
export async function readJsonBlobIfChanged<T>(
  blob: BlockBlobClient,
  etag: string | undefined,
): Promise<StoredJson<T> | 'unchanged' | undefined> {
  try {
    const response = await blob.download(0, undefined, {
      conditions: etag === undefined ? {} : { ifNoneMatch: etag },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody!) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    return {
      doc: JSON.parse(body.toString('utf8')) as T,
      etag: response.etag!,
      bytes: body.length,
    };
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 304) return 'unchanged';
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

/** Whether a conditional write lost to another writer. */
function lostRace(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409);
}

/**
 * Writes a document; with `etag`, only over that version, with 'new' only where none is. False
 * when another writer came first.
 */
export async function writeJsonBlob(
  blob: BlockBlobClient,
  doc: unknown,
  condition?: { etag: string } | 'new',
): Promise<boolean> {
  const body = JSON.stringify(doc);
  try {
    await blob.upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      conditions:
        condition === undefined
          ? {}
          : condition === 'new'
            ? { ifNoneMatch: '*' }
            : { ifMatch: condition.etag },
    });
    return true;
  } catch (error) {
    if (lostRace(error)) return false;
    throw error;
  }
}

/** A short random wait, so that writers who lost together do not collide again. */
export function jitter(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20 * (attempt + 1), 250);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
