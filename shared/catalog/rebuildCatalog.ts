import { RestError } from '@azure/storage-blob';
import { packageBlob } from '../packages/package';
import { listPackages, PackageRow } from '../packages/packageTable';
import { INDEXED_STATES } from '../packages/states';
import { StorageClients } from '../storage/clients';
import { appendCatalog, catalogItems } from './appendCatalog';
import { CatalogEvent, catalogEventOf, eventKey } from './catalogShapes';
import { packageHash } from './packageHash';

export interface RebuildOutcome {
  readonly appended: number;
  /** Already in the catalog: a rebuild run again adds nothing. */
  readonly present: number;
  /** Packages whose blob changed or went while the rebuild read it: their indexer appends. */
  readonly skipped: number;
}

/**
 * Builds a feed's catalog from its package table: one event per package at rest, indexed (with
 * its blob's SHA-512) or deleted, in the order the packages were uploaded, each appended unless
 * the catalog has it already. Packages on their way in or out are left to the indexer and the
 * deleter, which append their own events.
 */
export async function rebuildCatalog(
  storage: StorageClients,
  feed: string,
  pageLimit?: number,
): Promise<RebuildOutcome> {
  const container = storage.catalogContainer;
  const known = new Set((await catalogItems(container, feed)).map((item) => item['symfeed:event']));
  const rows = (await listPackages(storage.packagesTable, feed))
    .filter((row) => row.state === 'deleted' || INDEXED_STATES.has(row.state))
    .sort((a, b) => a.uploadedAt.localeCompare(b.uploadedAt));
  let appended = 0;
  let present = 0;
  let skipped = 0;
  for (const row of rows) {
    const event = await eventOf(storage, row);
    if (!event) skipped++;
    else if (known.has(eventKey(event))) present++;
    else {
      await appendCatalog({ container, ...(pageLimit ? { pageLimit } : {}) }, feed, event);
      appended++;
    }
  }
  return { appended, present, skipped };
}

async function eventOf(
  storage: StorageClients,
  row: PackageRow,
): Promise<CatalogEvent | undefined> {
  if (row.state === 'deleted') return catalogEventOf(row, 'deleted', row.keyCount);
  const blob = storage.packagesContainer.getBlobClient(packageBlob(row));
  try {
    const { metadata } = await blob.getProperties({ conditions: { ifMatch: row.blobEtag } });
    return catalogEventOf(
      row,
      row.state,
      row.keyCount,
      await packageHash(blob, row.blobEtag, metadata ?? {}),
    );
  } catch (error) {
    if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) {
      return undefined;
    }
    throw error;
  }
}
