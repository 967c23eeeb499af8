import { z } from 'zod';
import { feedNameSchema } from '../feeds/feedName';
import { deleteKeyRows } from '../index/keyTable';
import { StorageClients } from '../storage/clients';
import { getPackageRow, setPackageState } from './packageTable';
import { DELETING_STATES, PackageState } from './states';
import { MAX_HISTORY, readStatusDocument, writeStatusDocument } from './statusDocument';

/** A message of the deletes queue. */
export const deleteMessageSchema = z
  .object({
    feed: feedNameSchema,
    packageUid: z.string().regex(/^[0-9a-f]{32}$/, 'packageUid must be 32 lower-case hex digits'),
    reason: z.string().min(1).max(500),
  })
  .strict();
export type DeleteMessage = z.infer<typeof deleteMessageSchema>;

export class PackageNotFoundError extends Error {
  constructor(feed: string, packageUid: string) {
    super(`feed "${feed}" has no package ${packageUid}`);
    this.name = 'PackageNotFoundError';
  }
}

/** Moves a package to a new state, recording the change with its time in the status document. */
export async function recordState(
  storage: StorageClients,
  feed: string,
  packageUid: string,
  state: PackageState,
  reason?: string,
): Promise<void> {
  const doc = await readStatusDocument(storage.statusContainer, feed, packageUid);
  if (doc) {
    const at = new Date().toISOString();
    const change = reason === undefined ? { state, at } : { state, at, reason };
    const errors = state === 'partial' && reason ? [...doc.errors, reason] : doc.errors;
    await writeStatusDocument(storage.statusContainer, {
      ...doc,
      state,
      errors,
      history: [...doc.history, change].slice(-MAX_HISTORY),
    });
  }
  await setPackageState(storage.packagesTable, feed, packageUid, state);
}

/**
 * Asks for a package to be deleted: the package shows `deletingqueued` at once and the delete
 * function does the work. Asking again for a package already deleted or on its way is a no-op.
 */
export async function requestDelete(
  storage: StorageClients,
  message: DeleteMessage,
): Promise<'queued' | 'already'> {
  const row = await getPackageRow(storage.packagesTable, message.feed, message.packageUid);
  if (!row) throw new PackageNotFoundError(message.feed, message.packageUid);
  if (row.state === 'deleted' || DELETING_STATES.has(row.state)) return 'already';
  await recordState(storage, message.feed, message.packageUid, 'deletingqueued', message.reason);
  // The Functions host reads queue messages as base64, its default encoding.
  await storage.deletesQueue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
  return 'queued';
}

/**
 * Deletes a package: exactly the key rows its status document lists (point deletes, no scan),
 * then its blob, then marks it deleted. Every step may run again after a crash.
 */
export async function deletePackage(
  storage: StorageClients,
  message: DeleteMessage,
  keysChanged?: (feed: string, keys: readonly string[]) => void,
): Promise<'deleted' | 'already' | 'missing'> {
  const { feed, packageUid } = message;
  const row = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (!row) return 'missing';
  if (row.state === 'deleted') return 'already';
  // Marked first: an indexing run that finishes after this point sees it and takes its rows back.
  await recordState(storage, feed, packageUid, 'deleting', message.reason);
  const doc = await readStatusDocument(storage.statusContainer, feed, packageUid);
  const keys = doc?.keys ?? [];
  await deleteKeyRows(
    storage.symbolKeysTable,
    { feed, packageUid, firstIndexedAt: row.firstIndexedAt },
    keys,
  );
  keysChanged?.(
    feed,
    keys.map((record) => record.key),
  );
  await storage.packagesContainer.getBlobClient(`${feed}/${row.name}`).deleteIfExists();
  await recordState(storage, feed, packageUid, 'deleted');
  return 'deleted';
}
