import { ContainerClient, RestError } from '@azure/storage-blob';
import { KeyRecord } from '../index/location';
import type { KeyHandover } from './handovers';
import { PackageState, StateChange } from './states';

/** The record of one package: its state, every key it contributed and where, its problems. */
export interface StatusDocument {
  readonly feed: string;
  readonly packageUid: string;
  /** Name of the package inside the feed, as uploaded. */
  readonly name: string;
  /** The file name a push gave the package, when it gave one. */
  readonly pushedName?: string;
  readonly id: string;
  readonly version: string;
  readonly owner: string;
  readonly uploadedAt: string;
  readonly blobEtag: string;
  readonly size: number;
  readonly state: PackageState;
  readonly firstIndexedAt: string;
  readonly history: readonly StateChange[];
  readonly keys: readonly KeyRecord[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Keys this package and another hand over between them (see handovers.ts). */
  readonly handovers?: readonly KeyHandover[];
}

/** Older transitions are dropped past this many so that a busy package's document stays small. */
export const MAX_HISTORY = 50;

function statusBlobName(feed: string, packageUid: string): string {
  return `${feed}/${packageUid}.json`;
}

export async function readStatusDocument(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<StatusDocument | undefined> {
  try {
    const bytes = await container
      .getBlobClient(statusBlobName(feed, packageUid))
      .downloadToBuffer();
    // Only symfeed writes these documents, so their shape is trusted.
    return JSON.parse(bytes.toString('utf8')) as StatusDocument;
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

export async function writeStatusDocument(
  container: ContainerClient,
  doc: StatusDocument,
): Promise<void> {
  const body = JSON.stringify(doc, null, 2);
  await container
    .getBlockBlobClient(statusBlobName(doc.feed, doc.packageUid))
    .upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
    });
}

/** What a conditional rewrite of a document names: the blob as it was read. */
export interface StatusDocumentVersion {
  readonly etag: string;
  readonly fullListEtag: string | undefined;
}

/** The whole record and its version, for a change that must not undo a write made in between. */
export async function readStatusDocumentForUpdate(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<{ doc: StatusDocument; version: StatusDocumentVersion } | undefined> {
  const blob = container.getBlobClient(statusBlobName(feed, packageUid));
  let etag;
  try {
    etag = (await blob.getProperties()).etag ?? '';
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
  // Read after its ETag: a blob changed in between fails the rewrite, never goes unnoticed.
  const doc = await readStatusDocument(container, feed, packageUid);
  return doc && { doc, version: { etag, fullListEtag: undefined } };
}

/** Writes the record only if it did not change since `version` was read; false if it did. */
export async function replaceStatusDocument(
  container: ContainerClient,
  doc: StatusDocument,
  version: StatusDocumentVersion,
): Promise<boolean> {
  const body = JSON.stringify(doc, null, 2);
  try {
    await container
      .getBlockBlobClient(statusBlobName(doc.feed, doc.packageUid))
      .upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
        conditions: { ifMatch: version.etag },
      });
    return true;
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 412) return false;
    throw error;
  }
}
