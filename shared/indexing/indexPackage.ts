import { RestError } from '@azure/storage-blob';
import { Settings } from '../config/settings';
import { deleteKeyRows, LostKey, writeKeyRows } from '../index/keyTable';
import { KeyRecord } from '../index/location';
import { getPackageRow, putPackageRow } from '../packages/packageTable';
import { packageUidFor } from '../packages/packageUid';
import { DELETING_STATES, INDEXED_STATES, PackageState, StateChange } from '../packages/states';
import { identityFromName } from '../packages/packageIdentity';
import {
  MAX_HISTORY,
  readStatusDocument,
  StatusDocument,
  writeStatusDocument,
} from '../packages/statusDocument';
import { StorageClients } from '../storage/clients';
import { ChunkedReader, blobRangeSource, RangeReadError } from '../zip/chunkedReader';
import { DamagedZipError, PackageZip } from '../zip/packageZip';
import { Analysis, analysePackage } from './analysePackage';
import { safeDecode } from '../util/safeDecode';

export interface IndexerDeps {
  readonly storage: StorageClients;
  readonly settings: Settings;
  /** Told which keys of a feed may now resolve differently. */
  readonly keysChanged?: (feed: string, keys: readonly string[]) => void;
}

export type IndexOutcome =
  | { kind: 'indexed'; packageUid: string; state: PackageState; keys: number }
  | { kind: 'unchanged'; packageUid: string; state: PackageState }
  | { kind: 'deleting'; packageUid: string }
  | { kind: 'gone' }
  | { kind: 'replaced' };

/** The blob changed while it was being read; the event for the new content will index it. */
function isReplacedWhileReading(error: unknown): boolean {
  const cause = error instanceof RangeReadError ? error.cause : error;
  return cause instanceof RestError && (cause.statusCode === 412 || cause.statusCode === 404);
}

function keyId(record: { key: string; source: string }): string {
  return `${record.source}:${record.key}`;
}

/**
 * Indexes the package blob packages/{feed}/{name}. Idempotent: running it again on the same
 * blob writes the same rows and document; running it on replaced content adds the new keys and
 * removes the keys only the old content had. A crash at any point leaves a status document
 * listing at least every row that exists, so the next run can clean up.
 */
export async function indexPackage(
  deps: IndexerDeps,
  feed: string,
  name: string,
): Promise<IndexOutcome> {
  const { storage } = deps;
  const blobName = `${feed}/${name}`;
  const blob = storage.packagesContainer.getBlobClient(blobName);
  let properties;
  try {
    properties = await blob.getProperties();
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return { kind: 'gone' };
    throw error;
  }
  const blobEtag = properties.etag ?? '';
  const size = properties.contentLength ?? 0;
  const packageUid = packageUidFor(feed, name);

  const row = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (row && row.blobEtag === blobEtag && INDEXED_STATES.has(row.state)) {
    return { kind: 'unchanged', packageUid, state: row.state };
  }
  // A package on its way out is not brought back; its delete removes the blob too.
  if (row && DELETING_STATES.has(row.state)) return { kind: 'deleting', packageUid };
  const previous = await readStatusDocument(storage.statusContainer, feed, packageUid);
  // An upload under the name of a deleted package is a new package: it queues behind the others.
  const firstIndexedAt = row && row.state !== 'deleted' ? row.firstIndexedAt : Date.now();
  const owner = { feed, packageUid, firstIndexedAt };
  let history = [...(previous?.history ?? []), change('indexing')];
  const uploadedAt = (properties.createdOn ?? properties.lastModified ?? new Date()).toISOString();
  // Pushes record the token's owner, percent-encoded because blob metadata is ASCII only.
  const uploader = safeDecode(properties.metadata?.owner ?? '');

  await putPackageRow(storage.packagesTable, {
    feed,
    packageUid,
    name,
    id: row?.id ?? '',
    version: row?.version ?? '',
    owner: uploader,
    uploadedAt,
    blobEtag,
    size,
    state: 'indexing',
    stateChangedAt: now(),
    firstIndexedAt,
    keyCount: previous?.keys.length ?? 0,
    errorCount: 0,
    warningCount: 0,
  });

  let analysis: Analysis;
  try {
    analysis = await analyse(deps, blobName, blobEtag, size, packageUid);
  } catch (error) {
    if (isReplacedWhileReading(error)) return { kind: 'replaced' };
    throw error;
  }
  const identity = analysis.identity ?? identityFromName(name);

  const newIds = new Set(analysis.keys.map(keyId));
  const stale = (previous?.keys ?? []).filter((record) => !newIds.has(keyId(record)));
  const base = {
    feed,
    packageUid,
    name,
    ...identity,
    owner: uploader,
    uploadedAt,
    blobEtag,
    size,
    firstIndexedAt: new Date(firstIndexedAt).toISOString(),
  };
  // Written before any row so that, whatever happens next, the document covers every row.
  await writeStatusDocument(storage.statusContainer, {
    ...base,
    state: 'indexing',
    history: trim(history),
    keys: [...analysis.keys, ...stale],
    errors: [],
    warnings: [],
  });
  const lost = await writeKeyRows(storage.symbolKeysTable, owner, analysis.keys);
  await deleteKeyRows(storage.symbolKeysTable, owner, stale);
  const changed = [...analysis.keys, ...stale].map((record: KeyRecord) => record.key);

  // A delete that began while this run wrote rows read an older document: the rows are ours to
  // take back.
  const now_ = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (now_ && (DELETING_STATES.has(now_.state) || now_.state === 'deleted')) {
    await deleteKeyRows(storage.symbolKeysTable, owner, analysis.keys);
    deps.keysChanged?.(feed, changed);
    return { kind: 'deleting', packageUid };
  }

  const state: PackageState = analysis.damaged
    ? 'damaged'
    : analysis.errors.length > 0
      ? 'partial'
      : 'succeeded';
  history = [...history, change(state, analysis.damaged)];
  const doc: StatusDocument = {
    ...base,
    state,
    history: trim(history),
    keys: analysis.keys,
    errors: analysis.errors,
    warnings: [...analysis.warnings, ...lost.map(lostKeyWarning)],
  };
  await writeStatusDocument(storage.statusContainer, doc);
  await putPackageRow(storage.packagesTable, {
    ...base,
    firstIndexedAt,
    state,
    stateChangedAt: now(),
    keyCount: doc.keys.length,
    errorCount: doc.errors.length,
    warningCount: doc.warnings.length,
  });
  deps.keysChanged?.(feed, changed);
  return { kind: 'indexed', packageUid, state, keys: doc.keys.length };
}

async function analyse(
  { storage, settings }: IndexerDeps,
  blobName: string,
  blobEtag: string,
  size: number,
  packageUid: string,
): Promise<Analysis> {
  const source = blobRangeSource(storage.packagesContainer.getBlobClient(blobName), blobEtag);
  const reader = new ChunkedReader(source, size, settings.SYMFEED_READ_CHUNK_BYTES);
  const limits = {
    maxEntries: settings.SYMFEED_MAX_ENTRIES,
    maxEntryBytes: settings.SYMFEED_MAX_ENTRY_BYTES,
    maxCompressionRatio: settings.SYMFEED_MAX_COMPRESSION_RATIO,
    maxIndexBytes: settings.SYMFEED_MAX_INDEX_BYTES,
  };
  let zip: PackageZip;
  try {
    zip = await PackageZip.open(reader, size, limits);
  } catch (error) {
    if (error instanceof DamagedZipError)
      return { keys: [], errors: [error.message], warnings: [], damaged: error.message };
    throw error;
  }
  try {
    return await analysePackage(zip, { packageUid, blob: blobName, blobEtag }, limits);
  } finally {
    zip.close();
  }
}

/** Design.md's precedence: the package that loses a key is told which package serves it. */
function lostKeyWarning({ key, source, winner }: LostKey): string {
  const why =
    winner.source === 'explicit' && source === 'derived'
      ? 'an explicit mapping beats a derived key'
      : 'it was indexed earlier';
  return `key "${key}" is also offered by package "${winner.blob}", which is served instead: ${why}`;
}

function now(): string {
  return new Date().toISOString();
}

function change(state: PackageState, reason?: string): StateChange {
  return reason === undefined ? { state, at: now() } : { state, at: now(), reason };
}

function trim(history: StateChange[]): StateChange[] {
  return history.slice(-MAX_HISTORY);
}
