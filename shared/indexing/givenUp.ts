import { recordState } from '../packages/deletePackage';
import { getPackageRow } from '../packages/packageTable';
import { packageUidFor } from '../packages/packageUid';
import { StorageClients } from '../storage/clients';

/**
 * The last attempt at indexing a package failed, and the package would stay `indexing` for good:
 * it becomes `partial`, the reason among the errors of its status document and counted in its
 * row. Only over the row as read, so a run that finished or a delete that began since stands.
 */
export async function recordIndexingGivenUp(
  storage: StorageClients,
  feed: string,
  name: string,
  reason: string,
): Promise<boolean> {
  const packageUid = packageUidFor(feed, name);
  const row = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (row?.state !== 'indexing') return false;
  return recordState(storage, feed, packageUid, 'partial', reason, row.etag);
}
