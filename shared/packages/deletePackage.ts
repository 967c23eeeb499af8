import { z } from 'zod';
import { appendCatalog } from '../catalog/appendCatalog';
import { catalogEventOf } from '../catalog/catalogShapes';
import { feedNameSchema } from '../feeds/feedName';
import { deleteKeyRows } from '../index/keyTable';
import { deleteNameRows } from '../index/nameIndex';
import { StorageClients } from '../storage/clients';
import { tellOthers } from './handovers';
import { packageBlob } from './package';
import { getPackageRow, setPackageState } from './packageTable';
import { DELETING_STATES, PackageState } from './states';
import { readStatusDocument, withChange, writeStatusDocument } from './statusDocument';

/** A message of the deletes queue. */
export const deleteMessageSchema = z
  .object({
    feed: feedNameSchema,
    packageUid: z.string().regex(/^[0-9a-f]{32}$/, 'packageUid must be 32 lower-case hex digits'),
    reason: z.string().min(1).max(500),
    /** Where in the status document's key list a continuing delete picks up. */
    from: z.number().int().min(0).optional(),
  })
  .strict();
export type DeleteMessage = z.infer<typeof deleteMessageSchema>;

/** The Functions host reads queue messages as base64, its default encoding. */
function queueText(message: DeleteMessage): string {
  return Buffer.from(JSON.stringify(message)).toString('base64');
}

export class PackageNotFoundError extends Error {
  constructor(feed: string, packageUid: string) {
    super(`feed "${feed}" has no package ${packageUid}`);
    this.name = 'PackageNotFoundError';
  }
}

/**
 * Moves a package to a new state, recording the change with its time in the status document.
 * With `etag`, only if the package row is still as read: false (and nothing recorded) if not.
 */
export async function recordState(
  storage: StorageClients,
  feed: string,
  packageUid: string,
  state: PackageState,
  reason?: string,
  etag?: string,
): Promise<boolean> {
  const doc = await readStatusDocument(storage.statusContainer, feed, packageUid);
  const errors = [...(doc?.errors ?? []), ...(state === 'partial' && reason ? [reason] : [])];
  // The row counts the errors the document lists.
  const errorCount = doc ? errors.length : undefined;
  if (!(await setPackageState(storage, feed, packageUid, state, etag, errorCount))) {
    return false;
  }
  if (doc) {
    await writeStatusDocument(storage.statusContainer, {
      ...doc,
      state,
      errors,
      history: withChange(doc.history, state, reason),
    });
  }
  return true;
}

/** Reads of the package row a request makes before it gives up on a row that keeps changing. */
const REQUEST_ATTEMPTS = 5;

/** What asking for a delete uses: storage, and this process's memory of what it serves. */
export interface DeleteRequestDeps {
  readonly storage: StorageClients;
  /** Stops this process serving the package's files at once, before any deleter has begun. */
  readonly hidePackage?: (feed: string, packageUid: string) => void;
}

/**
 * Asks for a package to be deleted: the message goes to the queue first, then the package shows
 * `deletingqueued`, so a send that fails leaves the package as it was and asking again works.
 * The state is recorded only over the row as read: a deleter that was quicker is not undone.
 * Once the delete is queued, the process that took the request serves the package no more.
 * Asking again for a package already deleted or on its way is a no-op.
 */
export async function requestDelete(
  { storage, hidePackage }: DeleteRequestDeps,
  message: DeleteMessage,
): Promise<'queued' | 'already'> {
  let row = await getPackageRow(storage.packagesTable, message.feed, message.packageUid);
  if (!row) throw new PackageNotFoundError(message.feed, message.packageUid);
  if (row.state === 'deleted' || DELETING_STATES.has(row.state)) return 'already';
  await storage.deletesQueue.sendMessage(queueText(message));
  for (let attempt = 0; attempt < REQUEST_ATTEMPTS; attempt++) {
    const { feed, packageUid, reason } = message;
    if (await recordState(storage, feed, packageUid, 'deletingqueued', reason, row.etag)) break;
    row = await getPackageRow(storage.packagesTable, feed, packageUid);
    // The deleter has begun already.
    if (!row || row.state === 'deleted' || DELETING_STATES.has(row.state)) break;
  }
  hidePackage?.(message.feed, message.packageUid);
  return 'queued';
}

export interface DeleterDeps {
  readonly storage: StorageClients;
  /** Told which keys of a feed may now resolve differently. */
  readonly keysChanged?: (feed: string, keys: readonly string[]) => void;
  /** Stops this process serving the package's files at once, while its rows are still there. */
  readonly hidePackage?: (feed: string, packageUid: string) => void;
  readonly budget?: DeleteBudget;
}

/** How much one run of the deleter does before it hands the rest to a further message. */
export interface DeleteBudget {
  /** Keys whose rows go in one step; the run may stop after any step. */
  readonly keysPerStep: number;
  /** After this long, the run stops at the end of its step. */
  readonly runMs: number;
}

/**
 * A minute a run: far under the Functions timeout (5 minutes on the Consumption plan, 30 on
 * Flex Consumption), with room for one step over a slow storage account.
 */
const DEFAULT_BUDGET: DeleteBudget = { keysPerStep: 5_000, runMs: 60_000 };

/**
 * Deletes a package: exactly the key rows its status document lists (no scans), then its blob,
 * then marks it deleted. The package is hidden from this process's serving first, and each key's
 * winner row moves off it in the same transaction that removes its rows, so other processes stop
 * serving a key within their location lifetime of that transaction. A big package is done in
 * steps; a run that has used its budget sends the rest on as a further message naming the
 * position it reached. Every step may run again after a crash.
 */
export async function deletePackage(
  deps: DeleterDeps,
  message: DeleteMessage,
): Promise<'deleted' | 'already' | 'missing' | 'continued'> {
  const { storage } = deps;
  const budget = deps.budget ?? DEFAULT_BUDGET;
  const { feed, packageUid } = message;
  const row = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (!row) return 'missing';
  if (row.state === 'deleted') return 'already';
  deps.hidePackage?.(feed, packageUid);
  // Marked first: an indexing run that finishes after this point sees it and takes its rows back.
  if (row.state !== 'deleting') {
    await recordState(storage, feed, packageUid, 'deleting', message.reason);
  }
  const doc = await readStatusDocument(storage.statusContainer, feed, packageUid);
  const keys = doc?.keys ?? [];
  const started = Date.now();
  for (let at = message.from ?? 0; at < keys.length;) {
    const step = keys.slice(at, at + budget.keysPerStep);
    const removed = await deleteKeyRows(storage.symbolKeysTable, row, step);
    await deleteNameRows(storage.symbolNamesTable, row, step);
    deps.keysChanged?.(
      feed,
      step.map((record) => record.key),
    );
    await tellOthers(storage, feed, { packageUid, blob: packageBlob(row) }, { removed });
    at += step.length;
    if (at < keys.length && Date.now() - started >= budget.runMs) {
      await storage.deletesQueue.sendMessage(queueText({ ...message, from: at }));
      return 'continued';
    }
  }
  await storage.packagesContainer.getBlobClient(packageBlob(row)).deleteIfExists();
  // Before the state: a run that fails here is run again, and the append knows its event.
  await appendCatalog(
    { container: storage.catalogContainer },
    feed,
    catalogEventOf(row, 'deleted', keys.length),
  );
  await recordState(storage, feed, packageUid, 'deleted');
  return 'deleted';
}
