import { RestError } from '@azure/storage-blob';
import { Settings } from '../config/settings';
import { deleteKeyRows, KeyRowOwner, writeKeyRows } from '../index/keyTable';
import { ownHandovers, tellOthers, withHandovers } from '../packages/handovers';
import { KeyRecord } from '../index/location';
import { getPackageRow, replacePackageRow, StoredPackageRow } from '../packages/packageTable';
import { packageUidFor } from '../packages/packageUid';
import { DELETING_STATES, INDEXED_STATES, PackageState, StateChange } from '../packages/states';
import { identityFromName, PackageIdentity } from '../packages/packageIdentity';
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
import { keysOfOwner } from '../upstream/storeUpstream';

export interface IndexerDeps {
  readonly storage: StorageClients;
  readonly settings: Settings;
  /** Told which keys of a feed may now resolve differently. */
  readonly keysChanged?: (feed: string, keys: readonly string[]) => void;
}

export type IndexOutcome =
  | {
      kind: 'indexed';
      packageUid: string;
      /** What the package lists as, and the name it was pushed under: for the log. */
      id: string;
      version: string;
      pushedName?: string;
      state: PackageState;
      keys: number;
      /** Why the package is damaged, for the log as well as its status document. */
      reason?: string;
    }
  | { kind: 'unchanged'; packageUid: string; state: PackageState }
  | { kind: 'deleting'; packageUid: string }
  | { kind: 'gone' }
  /** Another run of the same content claimed the package after this one; its result stands. */
  | { kind: 'superseded'; packageUid: string };

/** A run that must start over: the package changed under it. */
interface Again {
  kind: 'again';
  /**
   * Rows this run wrote for content the blob no longer has: the next run removes those its
   * content lacks and rewrites the rest, even if another run has indexed the new content.
   */
  repair?: readonly KeyRecord[];
}

/** Runs of one package that may overtake each other before one of them finishes. */
const MAX_RUNS = 5;

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
 *
 * Runs of one package may overlap (an event delivered twice, a blob replaced mid-run). The package
 * row arbitrates: a run claims it with a write conditional on the row it read, and finishes with
 * a write conditional on its claim. A run overtaken before it wrote anything starts over; one
 * overtaken after it wrote rows for content the blob no longer has starts over as a repair,
 * rewriting the current content's rows after its own.
 */
export async function indexPackage(
  deps: IndexerDeps,
  feed: string,
  name: string,
): Promise<IndexOutcome> {
  let repair: readonly KeyRecord[] | undefined;
  for (let run = 0; run < MAX_RUNS; run++) {
    const outcome = await indexOnce(deps, feed, name, repair);
    if (outcome.kind !== 'again') return outcome;
    if (outcome.repair) repair = [...(repair ?? []), ...outcome.repair];
  }
  throw new Error(
    `package ${feed}/${name} changed under ${MAX_RUNS} indexing runs in a row; the next delivery of its event tries again`,
  );
}

async function indexOnce(
  deps: IndexerDeps,
  feed: string,
  name: string,
  repair: readonly KeyRecord[] | undefined,
): Promise<IndexOutcome | Again> {
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
  if (!repair && row && row.blobEtag === blobEtag && INDEXED_STATES.has(row.state)) {
    return { kind: 'unchanged', packageUid, state: row.state };
  }
  // A package on its way out is not brought back; its delete removes the blob too.
  if (row && DELETING_STATES.has(row.state)) return { kind: 'deleting', packageUid };
  const previous = await readStatusDocument(storage.statusContainer, feed, packageUid);
  // An upload under the name of a deleted package is a new package: it queues behind the others.
  const firstIndexedAt = row && row.state !== 'deleted' ? row.firstIndexedAt : Date.now();
  const owner = { feed, packageUid, firstIndexedAt };
  // A run of this content that is under way, or died, left the package `indexing` already: this
  // run carries on from it, so its state does not change.
  const carriesOn = previous?.state === 'indexing' && previous.blobEtag === blobEtag;
  let history = [...(previous?.history ?? []), ...(carriesOn ? [] : [change('indexing')])];
  const uploadedAt = (properties.createdOn ?? properties.lastModified ?? new Date()).toISOString();
  const pushed = pushedAs(properties.metadata ?? {});

  const claim = await replacePackageRow(
    storage.packagesTable,
    {
      feed,
      packageUid,
      name,
      // Listed while it is indexed as what it was pushed as, until the package says more.
      ...(row ? { id: row.id, version: row.version } : (pushed.identity ?? identityFromName(name))),
      owner: pushed.owner,
      uploadedAt,
      blobEtag,
      size,
      state: 'indexing',
      stateChangedAt: now(),
      firstIndexedAt,
      keyCount: previous?.keys.length ?? 0,
      errorCount: 0,
      warningCount: 0,
    },
    row?.etag,
  );
  if (claim === undefined) return { kind: 'again' };

  let analysis: Analysis;
  try {
    analysis = keysOfOwner(pushed.owner, await analyse(deps, blobName, blobEtag, size, packageUid));
  } catch (error) {
    // The content this run read is gone: index what is there now.
    if (isReplacedWhileReading(error)) return { kind: 'again' };
    throw error;
  }
  const identity = analysis.identity ?? pushed.identity ?? identityFromName(name);

  const newIds = new Set(analysis.keys.map(keyId));
  const stale = new Map<string, KeyRecord>();
  for (const record of [...(previous?.keys ?? []), ...(repair ?? [])]) {
    if (!newIds.has(keyId(record))) stale.set(keyId(record), record);
  }
  const base = {
    feed,
    packageUid,
    name,
    ...identity,
    owner: pushed.owner,
    uploadedAt,
    blobEtag,
    size,
    firstIndexedAt: new Date(firstIndexedAt).toISOString(),
  };
  // Written before any row so that, whatever happens next, the document covers every row.
  await writeStatusDocument(storage.statusContainer, {
    ...base,
    ...(pushed.name === undefined ? {} : { pushedName: pushed.name }),
    state: 'indexing',
    history: trim(history),
    keys: [...analysis.keys, ...stale.values()],
    errors: [],
    warnings: [],
  });
  const writes = await writeKeyRows(storage.symbolKeysTable, owner, analysis.keys);
  const removed = await deleteKeyRows(storage.symbolKeysTable, owner, [...stale.values()]);
  const changed = [...analysis.keys, ...stale.values()].map((record: KeyRecord) => record.key);
  deps.keysChanged?.(feed, changed);
  await tellOthers(storage, feed, { packageUid, blob: blobName }, { taken: writes.taken, removed });

  // Checked before the final document too, so that an overtaken run leaves the document alone.
  const current = await getPackageRow(storage.packagesTable, feed, packageUid);
  if (current?.etag !== claim) {
    return overtaken(deps, current, blobName, blobEtag, owner, analysis.keys);
  }

  const state: PackageState = analysis.damaged
    ? 'damaged'
    : analysis.errors.length > 0
      ? 'partial'
      : 'succeeded';
  history = [...history, change(state, analysis.damaged)];
  const handovers = ownHandovers(previous?.handovers ?? [], analysis.keys, writes, now());
  const doc: StatusDocument = withHandovers(
    {
      ...base,
      ...(pushed.name === undefined ? {} : { pushedName: pushed.name }),
      state,
      history: trim(history),
      keys: analysis.keys,
      errors: analysis.errors,
      warnings: analysis.warnings,
    },
    handovers,
  );
  await writeStatusDocument(storage.statusContainer, doc);
  const committed = await replacePackageRow(
    storage.packagesTable,
    {
      ...base,
      firstIndexedAt,
      state,
      stateChangedAt: now(),
      keyCount: doc.keys.length,
      errorCount: doc.errors.length,
      warningCount: doc.warnings.length,
    },
    claim,
  );
  if (committed === undefined) {
    const latest = await getPackageRow(storage.packagesTable, feed, packageUid);
    return overtaken(deps, latest, blobName, blobEtag, owner, analysis.keys);
  }
  return {
    kind: 'indexed',
    packageUid,
    ...identity,
    ...(pushed.name === undefined ? {} : { pushedName: pushed.name }),
    state,
    keys: doc.keys.length,
    ...(analysis.damaged === undefined ? {} : { reason: analysis.damaged }),
  };
}

/**
 * Another writer changed the package row after this run claimed it. A delete takes the rows
 * this run wrote back (its delete read an older document); another run of the same content
 * writes the same rows, so its result stands; a run of other content decides by what the blob
 * holds now.
 */
async function overtaken(
  deps: IndexerDeps,
  current: StoredPackageRow | undefined,
  blobName: string,
  blobEtag: string,
  owner: KeyRowOwner,
  written: readonly KeyRecord[],
): Promise<IndexOutcome | Again> {
  const { storage } = deps;
  const { feed, packageUid } = owner;
  if (!current || current.state === 'deleted' || DELETING_STATES.has(current.state)) {
    const removed = await deleteKeyRows(storage.symbolKeysTable, owner, written);
    deps.keysChanged?.(
      feed,
      written.map((record) => record.key),
    );
    await tellOthers(storage, feed, { packageUid, blob: blobName }, { removed });
    return { kind: 'deleting', packageUid };
  }
  if (current.blobEtag === blobEtag) return { kind: 'superseded', packageUid };
  const blob = await storage.packagesContainer
    .getBlobClient(blobName)
    .getProperties()
    .catch(() => undefined);
  // This run's content is still the blob's (the other run read an older one and will fail):
  // claim again. Otherwise this run's rows may have landed after the newer content's.
  return blob?.etag === blobEtag ? { kind: 'again' } : { kind: 'again', repair: written };
}

/** What a push recorded in the blob's metadata (ASCII only, so its values are percent-encoded). */
function pushedAs(metadata: Record<string, string>): {
  owner: string;
  name?: string;
  identity?: PackageIdentity;
} {
  const owner = safeDecode(metadata.owner ?? '');
  const name = metadata.pushedname === undefined ? undefined : safeDecode(metadata.pushedname);
  const id = safeDecode(metadata.id ?? '');
  const version = safeDecode(metadata.version ?? '');
  // The .nuspec as the push read it; else the file name, when it names an id and a version
  // (NuGet clients send a fixed "package.nupkg" that names nothing).
  const fromName = name === undefined ? undefined : identityFromName(name);
  const identity = id && version ? { id, version } : fromName?.version ? fromName : undefined;
  return {
    owner,
    ...(name === undefined ? {} : { name }),
    ...(identity === undefined ? {} : { identity }),
  };
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

function now(): string {
  return new Date().toISOString();
}

function change(state: PackageState, reason?: string): StateChange {
  return reason === undefined ? { state, at: now() } : { state, at: now(), reason };
}

function trim(history: StateChange[]): StateChange[] {
  return history.slice(-MAX_HISTORY);
}
