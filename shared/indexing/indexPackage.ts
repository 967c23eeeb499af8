import { RestError } from '@azure/storage-blob';
import { Settings } from '../config/settings';
import { deleteKeyRows, KeyWrites, writeKeyRows } from '../index/keyTable';
import { deleteNameRows, writeNameRows } from '../index/nameIndex';
import { ownHandovers, tellOthers, withHandovers } from '../packages/handovers';
import { KeyRecord } from '../index/location';
import { Package, packageBlob } from '../packages/package';
import { getPackageRow, replacePackageRow, StoredPackageRow } from '../packages/packageTable';
import { packageUidFor } from '../packages/packageUid';
import { DELETING_STATES, INDEXED_STATES, PackageState, StateChange } from '../packages/states';
import { identityFromName, PackageIdentity } from '../packages/packageIdentity';
import {
  PackageOrigin,
  readStatusDocument,
  StatusDocument,
  statusDocumentOf,
  withChange,
  writeStatusDocument,
} from '../packages/statusDocument';
import { StorageClients } from '../storage/clients';
import { ChunkedReader, blobRangeSource, RangeReadError } from '../zip/chunkedReader';
import { DamagedZipError, PackageZip } from '../zip/packageZip';
import { Analysis, analysePackage } from './analysePackage';
import { safeDecode } from '../util/safeDecode';
import { keysOfOwner } from '../upstream/storeUpstream';
import { appendCatalog } from '../catalog/appendCatalog';
import { catalogEventOf } from '../catalog/catalogShapes';
import { packageHash } from '../catalog/packageHash';

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

/** One run, each step of which may run again: a later run redoes what a crash left undone. */
async function indexOnce(
  deps: IndexerDeps,
  feed: string,
  name: string,
  repair: readonly KeyRecord[] | undefined,
): Promise<IndexOutcome | Again> {
  const { storage } = deps;
  const blob = await readBlob(storage, feed, name);
  if (!blob) return { kind: 'gone' };
  const row = await getPackageRow(storage.packagesTable, feed, blob.packageUid);
  const decision = decide(blob, row, repair);
  if (decision !== 'proceed') return decision;
  const previous = await readStatusDocument(storage.statusContainer, feed, blob.packageUid);
  const claim = await claimPackage(storage, blob, row, previous);
  if (!claim) return { kind: 'again' };
  const analysed = await analyse(deps, blob);
  // The content this run read is gone: index what is there now.
  if (!analysed) return { kind: 'again' };
  const hash = await hashOf(storage, blob);
  if (hash === undefined) return { kind: 'again' };
  const analysis = keysOfOwner(blob.pushed.owner, analysed);
  const pkg = { ...claim.pkg, ...identityOf(blob, analysis) };
  const stale = staleKeys(analysis.keys, [...(previous?.keys ?? []), ...(repair ?? [])]);
  await recordIntent(storage, claim, pkg, [...analysis.keys, ...stale]);
  const writes = await writeKeys(deps, pkg, analysis, stale);
  const lost = await checkClaim(deps, claim, pkg, analysis.keys);
  if (lost) return lost;
  return finish(deps, claim, pkg, analysis, writes, hash);
}

/** The package's blob as a run found it, with what a push recorded beside it. */
interface FoundBlob {
  readonly feed: string;
  readonly name: string;
  readonly packageUid: string;
  readonly etag: string;
  readonly size: number;
  readonly uploadedAt: string;
  readonly pushed: Pushed;
  readonly metadata: Record<string, string>;
}

/** The blob's properties, or undefined when it is gone. */
async function readBlob(
  storage: StorageClients,
  feed: string,
  name: string,
): Promise<FoundBlob | undefined> {
  let properties;
  try {
    properties = await storage.packagesContainer
      .getBlobClient(packageBlob({ feed, name }))
      .getProperties();
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
  return {
    feed,
    name,
    packageUid: packageUidFor(feed, name),
    etag: properties.etag ?? '',
    size: properties.contentLength ?? 0,
    uploadedAt: (properties.createdOn ?? properties.lastModified ?? new Date()).toISOString(),
    pushed: pushedAs(properties.metadata ?? {}),
    metadata: properties.metadata ?? {},
  };
}

/**
 * Whether the run goes on: not when the package is indexed as the blob is (unless rows of other
 * content need repair), nor when it is on its way out (its delete removes the blob too).
 */
function decide(
  blob: FoundBlob,
  row: StoredPackageRow | undefined,
  repair: readonly KeyRecord[] | undefined,
): IndexOutcome | 'proceed' {
  const { packageUid } = blob;
  if (!repair && row && row.blobEtag === blob.etag && INDEXED_STATES.has(row.state)) {
    return { kind: 'unchanged', packageUid, state: row.state };
  }
  if (row && DELETING_STATES.has(row.state)) return { kind: 'deleting', packageUid };
  return 'proceed';
}

/** A run's hold on the package: the row as it wrote it, and what was recorded before. */
interface Claim {
  /** The row's ETag after the claim; the run's last write is conditional on it. */
  readonly etag: string;
  readonly blob: FoundBlob;
  /** The package as claimed: `indexing`, listed as what it was pushed as. */
  readonly pkg: Package;
  readonly history: readonly StateChange[];
  readonly previous: StatusDocument | undefined;
}

/**
 * Marks the package `indexing` over the row as read (or its absence), or undefined when another
 * writer changed the row first.
 */
async function claimPackage(
  storage: StorageClients,
  blob: FoundBlob,
  row: StoredPackageRow | undefined,
  previous: StatusDocument | undefined,
): Promise<Claim | undefined> {
  // Listed while it is indexed as what it was pushed as, until the package says more.
  const identity = row
    ? { id: row.id, version: row.version }
    : (blob.pushed.identity ?? identityFromName(blob.name));
  const pkg: Package = {
    feed: blob.feed,
    packageUid: blob.packageUid,
    name: blob.name,
    ...identity,
    owner: blob.pushed.owner,
    uploadedAt: blob.uploadedAt,
    blobEtag: blob.etag,
    size: blob.size,
    state: 'indexing',
    stateChangedAt: now(),
    // An upload under the name of a deleted package is a new package: it queues behind the others.
    firstIndexedAt: row && row.state !== 'deleted' ? row.firstIndexedAt : Date.now(),
  };
  const counts = { keyCount: previous?.keys.length ?? 0, errorCount: 0, warningCount: 0 };
  const etag = await replacePackageRow(storage, { ...pkg, ...counts }, row?.etag);
  if (etag === undefined) return undefined;
  // A run of this content that is under way, or died, left the package `indexing` already: this
  // run carries on from it, so its state does not change.
  const carriesOn = previous?.state === 'indexing' && previous.blobEtag === blob.etag;
  const history = carriesOn ? previous.history : withChange(previous?.history ?? [], 'indexing');
  return { etag, blob, pkg, history, previous };
}

/** What the package says it is, else what it was pushed as, else what its name says. */
function identityOf(blob: FoundBlob, analysis: Analysis): PackageIdentity {
  return analysis.identity ?? blob.pushed.identity ?? identityFromName(blob.name);
}

/** Keys recorded before (or written by an overtaken run) that the content no longer has. */
function staleKeys(keys: readonly KeyRecord[], recorded: readonly KeyRecord[]): KeyRecord[] {
  const kept = new Set(keys.map(keyId));
  const stale = new Map<string, KeyRecord>();
  for (const record of recorded) if (!kept.has(keyId(record))) stale.set(keyId(record), record);
  return [...stale.values()];
}

/**
 * The document lists every key this run writes or removes, written before any row so that,
 * whatever happens next, the document covers every row.
 */
async function recordIntent(
  storage: StorageClients,
  claim: Claim,
  pkg: Package,
  keys: readonly KeyRecord[],
): Promise<void> {
  await writeStatusDocument(
    storage.statusContainer,
    statusDocumentOf(pkg, claim.blob.pushed.origin, {
      history: claim.history,
      keys,
      errors: [],
      warnings: [],
    }),
  );
}

/** Writes the content's key rows, removes the stale ones, and tells whoever is concerned. */
async function writeKeys(
  { storage, keysChanged }: IndexerDeps,
  pkg: Package,
  { keys, inline }: Analysis,
  stale: readonly KeyRecord[],
): Promise<KeyWrites> {
  const writes = await writeKeyRows(storage.symbolKeysTable, pkg, keys, inline);
  const removed = await deleteKeyRows(storage.symbolKeysTable, pkg, stale);
  await writeNameRows(storage.symbolNamesTable, pkg, keys);
  await deleteNameRows(storage.symbolNamesTable, pkg, stale);
  keysChanged?.(
    pkg.feed,
    [...keys, ...stale].map((record) => record.key),
  );
  const self = { packageUid: pkg.packageUid, blob: packageBlob(pkg) };
  await tellOthers(storage, pkg.feed, self, { taken: writes.taken, removed });
  return writes;
}

/**
 * Checked before the final document as well as by the final row, so that an overtaken run leaves
 * the document alone: undefined while the claim holds, else what the run does now.
 */
async function checkClaim(
  deps: IndexerDeps,
  claim: Claim,
  pkg: Package,
  written: readonly KeyRecord[],
): Promise<IndexOutcome | Again | undefined> {
  const current = await getPackageRow(deps.storage.packagesTable, pkg.feed, pkg.packageUid);
  return current?.etag === claim.etag ? undefined : overtaken(deps, current, pkg, written);
}

/** The final document, then the row conditional on the claim; what the run made of it. */
async function finish(
  deps: IndexerDeps,
  claim: Claim,
  pkg: Package,
  analysis: Analysis,
  writes: KeyWrites,
  hash: string,
): Promise<IndexOutcome | Again> {
  const { storage } = deps;
  const state: PackageState = analysis.damaged
    ? 'damaged'
    : analysis.errors.length > 0
      ? 'partial'
      : 'succeeded';
  const indexed: Package = { ...pkg, state, stateChangedAt: now() };
  const handovers = ownHandovers(claim.previous?.handovers ?? [], analysis.keys, writes, now());
  const doc = withHandovers(
    statusDocumentOf(indexed, claim.blob.pushed.origin, {
      history: withChange(claim.history, state, analysis.damaged),
      keys: analysis.keys,
      errors: analysis.errors,
      warnings: analysis.warnings,
    }),
    handovers,
  );
  await writeStatusDocument(storage.statusContainer, doc);
  // Before the final row: an append that fails leaves the package `indexing`, so the event's
  // next delivery runs again and appends (once: the append knows the event by uid, state, ETag).
  await appendCatalog(
    { container: storage.catalogContainer },
    pkg.feed,
    catalogEventOf(indexed, state, doc.keys.length, hash),
  );
  const counts = {
    keyCount: doc.keys.length,
    errorCount: doc.errors.length,
    warningCount: doc.warnings.length,
  };
  const committed = await replacePackageRow(storage, { ...indexed, ...counts }, claim.etag);
  if (committed === undefined) {
    const latest = await getPackageRow(storage.packagesTable, pkg.feed, pkg.packageUid);
    return overtaken(deps, latest, pkg, analysis.keys);
  }
  return outcome(doc, analysis.damaged);
}

/** What the run made of the package, as its document records it. */
function outcome(doc: StatusDocument, damaged: string | undefined): IndexOutcome {
  const { packageUid, id, version, pushedName, state } = doc;
  return {
    kind: 'indexed',
    packageUid,
    id,
    version,
    ...(pushedName === undefined ? {} : { pushedName }),
    state,
    keys: doc.keys.length,
    ...(damaged === undefined ? {} : { reason: damaged }),
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
  pkg: Package,
  written: readonly KeyRecord[],
): Promise<IndexOutcome | Again> {
  const { storage } = deps;
  const { feed, packageUid } = pkg;
  const blobName = packageBlob(pkg);
  if (!current || current.state === 'deleted' || DELETING_STATES.has(current.state)) {
    const removed = await deleteKeyRows(storage.symbolKeysTable, pkg, written);
    await deleteNameRows(storage.symbolNamesTable, pkg, written);
    deps.keysChanged?.(
      feed,
      written.map((record) => record.key),
    );
    await tellOthers(storage, feed, { packageUid, blob: blobName }, { removed });
    return { kind: 'deleting', packageUid };
  }
  if (current.blobEtag === pkg.blobEtag) return { kind: 'superseded', packageUid };
  const blob = await storage.packagesContainer
    .getBlobClient(blobName)
    .getProperties()
    .catch(() => undefined);
  // This run's content is still the blob's (the other run read an older one and will fail):
  // claim again. Otherwise this run's rows may have landed after the newer content's.
  return blob?.etag === pkg.blobEtag ? { kind: 'again' } : { kind: 'again', repair: written };
}

/** What a push recorded in the blob's metadata. */
interface Pushed {
  readonly owner: string;
  readonly identity?: PackageIdentity;
  /** The name it was pushed under, and where an upstream fetch found it. */
  readonly origin: PackageOrigin;
}

/** Blob metadata is ASCII only, so pushes and upstream fetches percent-encode its values. */
function pushedAs(metadata: Record<string, string>): Pushed {
  const owner = safeDecode(metadata.owner ?? '');
  const name = metadata.pushedname === undefined ? undefined : safeDecode(metadata.pushedname);
  const id = safeDecode(metadata.id ?? '');
  const version = safeDecode(metadata.version ?? '');
  // The .nuspec as the push read it; else the file name, when it names an id and a version
  // (NuGet clients send a fixed "package.nupkg" that names nothing).
  const fromName = name === undefined ? undefined : identityFromName(name);
  const identity = id && version ? { id, version } : fromName?.version ? fromName : undefined;
  const url = metadata.upstreamurl === undefined ? undefined : safeDecode(metadata.upstreamurl);
  const at = metadata.fetchedat === undefined ? undefined : safeDecode(metadata.fetchedat);
  return {
    owner,
    ...(identity === undefined ? {} : { identity }),
    origin: {
      ...(name === undefined ? {} : { pushedName: name }),
      ...(url === undefined || at === undefined ? {} : { fetchedFrom: { url, at } }),
    },
  };
}

/** The package's SHA-512 for the catalog, or undefined when the blob changed meanwhile. */
async function hashOf(storage: StorageClients, blob: FoundBlob): Promise<string | undefined> {
  const client = storage.packagesContainer.getBlobClient(packageBlob(blob));
  try {
    return await packageHash(client, blob.etag, blob.metadata);
  } catch (error) {
    if (isReplacedWhileReading(error)) return undefined;
    throw error;
  }
}

/** What the package holds, or undefined when the blob changed while it was being read. */
async function analyse(
  { storage, settings }: IndexerDeps,
  blob: FoundBlob,
): Promise<Analysis | undefined> {
  try {
    return await analyseContent(storage, settings, blob);
  } catch (error) {
    if (isReplacedWhileReading(error)) return undefined;
    throw error;
  }
}

async function analyseContent(
  storage: StorageClients,
  settings: Settings,
  { feed, name, packageUid, etag, size }: FoundBlob,
): Promise<Analysis> {
  const blobName = packageBlob({ feed, name });
  const source = blobRangeSource(storage.packagesContainer.getBlobClient(blobName), etag);
  const reader = new ChunkedReader(source, size, settings.SYMFEED_READ_CHUNK_BYTES);
  const limits = {
    maxEntries: settings.SYMFEED_MAX_ENTRIES,
    maxEntryBytes: settings.SYMFEED_MAX_ENTRY_BYTES,
    maxCompressionRatio: settings.SYMFEED_MAX_COMPRESSION_RATIO,
    maxIndexBytes: settings.SYMFEED_MAX_INDEX_BYTES,
    inlineFileBytes: settings.SYMFEED_INLINE_FILE_BYTES,
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
    return await analysePackage(zip, { packageUid, blob: blobName, blobEtag: etag }, limits);
  } finally {
    zip.close();
  }
}

function now(): string {
  return new Date().toISOString();
}
