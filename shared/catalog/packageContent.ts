import { Readable } from 'node:stream';
import { RestError } from '@azure/storage-blob';
import { packageBlob } from '../packages/package';
import { getPackageRow } from '../packages/packageTable';
import { StorageClients } from '../storage/clients';

export interface PackageContent {
  readonly length: number;
  readonly body: Readable;
}

/**
 * The bytes as uploaded of a package the catalog links to (`symfeed:packageContent`), found
 * through its row, never from a caller's path. Only a `succeeded` package, and only the content
 * it succeeded with: a blob changed since (new content being indexed) or gone answers nothing,
 * and the catalog's next event tells of it.
 */
export async function packageContent(
  storage: Pick<StorageClients, 'packagesTable' | 'packagesContainer'>,
  feed: string,
  packageUid: string,
): Promise<PackageContent | undefined> {
  const row = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (row?.state !== 'succeeded') return undefined;
  try {
    const download = await storage.packagesContainer
      .getBlobClient(packageBlob(row))
      .download(0, undefined, { conditions: { ifMatch: row.blobEtag } });
    return {
      length: download.contentLength ?? row.size,
      body: download.readableStreamBody as Readable,
    };
  } catch (error) {
    if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) {
      return undefined;
    }
    throw error;
  }
}
