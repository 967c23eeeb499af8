import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { text as readText } from 'node:stream/consumers';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BlobRequestConditions, ContainerClient, RestError } from '@azure/storage-blob';
import { KeyRecord } from '../index/location';
import type { KeyHandover } from './handovers';
import { Package } from './package';
import { PackageState, StateChange } from './states';
import { isAbsent } from '../storage/faults';

/**
 * The record of one package: its facts, every key it contributed and where, its problems. When
 * its state changed is the time of the last entry of its history.
 */
export interface StatusDocument
  extends Omit<Package, 'stateChangedAt'>, StatusRecord, PackageOrigin {}

/** Where a package came from, beyond its owner: what a push or an upstream fetch recorded. */
export interface PackageOrigin {
  /** The file name a push gave the package, when it gave one. */
  readonly pushedName?: string;
  /** The file an upstream symbol server answered, and when, for a package fetched from one. */
  readonly fetchedFrom?: { readonly url: string; readonly at: string };
}

/** What the document records beyond the package's facts. */
export interface StatusRecord {
  readonly history: readonly StateChange[];
  readonly keys: readonly KeyRecord[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Keys this package and another hand over between them (see handovers.ts). */
  readonly handovers?: readonly KeyHandover[];
}

/** The document of a package, laid out as it is stored: facts, origin, state, record. */
export function statusDocumentOf(
  pkg: Package,
  { pushedName, fetchedFrom }: PackageOrigin,
  record: StatusRecord,
): StatusDocument {
  const { state, stateChangedAt: _inHistory, ...facts } = pkg;
  return {
    ...facts,
    ...(pushedName === undefined ? {} : { pushedName }),
    ...(fetchedFrom === undefined ? {} : { fetchedFrom }),
    state,
    ...record,
  };
}

/** Older transitions are dropped past this many so that a busy package's document stays small. */
const MAX_HISTORY = 50;

/** A history with a change to `state` now, the oldest dropped past MAX_HISTORY. */
export function withChange(
  history: readonly StateChange[],
  state: PackageState,
  reason?: string,
): StateChange[] {
  const at = new Date().toISOString();
  const change = reason === undefined ? { state, at } : { state, at, reason };
  return [...history, change].slice(-MAX_HISTORY);
}

/**
 * Storage layout. `status/{feed}/{uid}.json` is the document people read (the admin API,
 * `symfeed package show`, the status nupkg): every field, with its lists bounded so that reading,
 * downloading or showing it costs little whatever the package holds. When a list does not fit,
 * the full lists go to `status/{feed}/{uid}.keys.json`, written first, and the document says what
 * it leaves out. Deletes and re-indexing read both and get the whole record back.
 */
const LISTED_BYTES = 1024 * 1024;
const MESSAGE_CHARS = 2_000;

/** The document as it is stored: its first indexing time an ISO string, as people read it. */
type StoredStatus = Omit<StatusDocument, 'firstIndexedAt'> & { readonly firstIndexedAt: string };

function storedForm(doc: StatusDocument): StoredStatus {
  return { ...doc, firstIndexedAt: new Date(doc.firstIndexedAt).toISOString() };
}

function fromStored(doc: StoredStatus): StatusDocument {
  return { ...doc, firstIndexedAt: Date.parse(doc.firstIndexedAt) };
}

/** The document as stored and shown: lists bounded, with their totals. */
export interface DisplayedStatus extends StoredStatus {
  readonly keyCount: number;
  readonly errorCount: number;
  readonly warningCount: number;
  /** Where the full lists are, when this document leaves part of them out. */
  readonly fullList?: string;
  /** What this document leaves out, in words. */
  readonly omitted?: string;
}

function statusBlobName(feed: string, packageUid: string): string {
  return `${feed}/${packageUid}.json`;
}

function fullListBlobName(feed: string, packageUid: string): string {
  return `${feed}/${packageUid}.keys.json`;
}

/** The first items of a list, as shown, that fit LISTED_BYTES of JSON. */
function listed<T>(items: readonly T[], show: (item: T) => T = (item) => item): T[] {
  const shown: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const one = show(item);
    bytes += Buffer.byteLength(JSON.stringify(one));
    if (bytes > LISTED_BYTES) break;
    shown.push(one);
  }
  return shown;
}

const isLong = (message: string) => message.length > MESSAGE_CHARS;

function clip(message: string): string {
  return isLong(message)
    ? `${message.slice(0, MESSAGE_CHARS)}... (${message.length} characters in all)`
    : message;
}

const number = (count: number) => count.toLocaleString('en-US');

/** The document with its lists bounded; `fullList` names where all of them are. */
function displayed(doc: StoredStatus, fullList: string): DisplayedStatus {
  const keys = listed(doc.keys);
  const errors = listed(doc.errors, clip);
  const warnings = listed(doc.warnings, clip);
  const handovers = listed(doc.handovers ?? []);
  const parts: string[] = [];
  for (const [all, shown, what] of [
    [doc.keys, keys, 'keys'],
    [doc.errors, errors, 'errors'],
    [doc.warnings, warnings, 'warnings'],
    [doc.handovers ?? [], handovers, 'hand-overs'],
  ] as const) {
    if (shown.length < all.length) {
      parts.push(`the first ${number(shown.length)} of ${number(all.length)} ${what}`);
    }
  }
  const cut =
    doc.errors.slice(0, errors.length).filter(isLong).length +
    doc.warnings.slice(0, warnings.length).filter(isLong).length;
  if (cut > 0) parts.push(`${number(cut)} message${cut === 1 ? '' : 's'} cut short`);
  const counts = {
    keyCount: doc.keys.length,
    errorCount: doc.errors.length,
    warningCount: doc.warnings.length,
  };
  if (parts.length === 0) return { ...doc, ...counts };
  return {
    ...doc,
    ...counts,
    keys,
    errors,
    warnings,
    ...(doc.handovers ? { handovers } : {}),
    fullList,
    omitted: `Lists stop at ${LISTED_BYTES / 1024 / 1024} MiB of JSON and messages at ${number(MESSAGE_CHARS)} characters: this document holds ${parts.join(', ')}. The full lists are in ${fullList}.`,
  };
}

type FullLists = Pick<StatusRecord, 'keys' | 'errors' | 'warnings' | 'handovers'>;

/** One element a line, so that the list reads back line by line; still one JSON document. */
const SECTIONS = ['{"keys":[', '],"errors":[', '],"warnings":[', '],"handovers":[', ']}'] as const;
const CHUNK_CHARS = 64 * 1024;

/** Made a piece at a time, letting the event loop run in between: the list may be 100 MB. */
async function* fullListText(doc: FullLists): AsyncGenerator<string> {
  let chunk = '';
  const lists = [doc.keys, doc.errors, doc.warnings, doc.handovers ?? []];
  for (const [index, section] of SECTIONS.entries()) {
    chunk += `${section}\n`;
    const list: readonly unknown[] = lists[index] ?? [];
    for (const [i, element] of list.entries()) {
      chunk += `${JSON.stringify(element)}${i < list.length - 1 ? ',' : ''}\n`;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
        await nextTurn();
      }
    }
  }
  yield chunk;
}

async function writeFullList(
  container: ContainerClient,
  doc: StatusDocument,
  conditions: BlobRequestConditions = {},
): Promise<void> {
  await container
    .getBlockBlobClient(fullListBlobName(doc.feed, doc.packageUid))
    .uploadStream(Readable.from(fullListText(doc)), 4 * 1024 * 1024, 2, {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      conditions,
    });
}

async function readFullList(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<FullLists> {
  const name = fullListBlobName(feed, packageUid);
  let body: NodeJS.ReadableStream;
  try {
    body = (await container.getBlobClient(name).download()).readableStreamBody!;
  } catch (error) {
    if (isAbsent(error)) {
      throw new Error(`status/${name}, the full key list of package ${packageUid}, is missing`, {
        cause: error,
      });
    }
    throw error;
  }
  const lists = {
    keys: [] as KeyRecord[],
    errors: [] as string[],
    warnings: [] as string[],
    handovers: [] as KeyHandover[],
  };
  const targets = [lists.keys, lists.errors, lists.warnings, lists.handovers, undefined];
  let target: unknown[] | undefined;
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    const section = (SECTIONS as readonly string[]).indexOf(line);
    if (section >= 0) target = targets[section];
    else if (line) target?.push(JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line));
  }
  return lists;
}

async function readStored(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<DisplayedStatus | StoredStatus | undefined> {
  try {
    // One GET, which storage answers from one version of the blob. downloadToBuffer asks for the
    // length first and then reads that many bytes of whatever version is there by then: a
    // document rewritten in between came back cut short.
    const download = await container.getBlobClient(statusBlobName(feed, packageUid)).download();
    const text = await readText(download.readableStreamBody as Readable);
    // Only symfeed writes these documents, so their shape is trusted.
    return JSON.parse(text) as DisplayedStatus | StoredStatus;
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/**
 * The whole record, every key included, for the flows that act on it. Documents written before
 * the lists were bounded hold everything inline and read as they are.
 */
export async function readStatusDocument(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<StatusDocument | undefined> {
  const stored = await readStored(container, feed, packageUid);
  if (!stored) return undefined;
  // What only the displayed document carries is not part of the record.
  const {
    keyCount: _keyCount,
    errorCount: _errorCount,
    warningCount: _warningCount,
    fullList,
    omitted: _omitted,
    ...doc
  } = stored as Partial<DisplayedStatus> & StoredStatus;
  const lists = fullList === undefined ? {} : await readFullList(container, feed, packageUid);
  return fromStored({ ...doc, ...lists });
}

/** The document as people see it, bounded; an unbounded one of an earlier version is cut here. */
export async function readDisplayedStatus(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<DisplayedStatus | undefined> {
  const stored = await readStored(container, feed, packageUid);
  if (!stored) return undefined;
  return 'keyCount' in stored
    ? stored
    : displayed(stored, `status/${statusBlobName(feed, packageUid)}`);
}

/** The stored document's bytes as a stream, for downloads: never parsed, never held whole. */
export async function streamStatusDocument(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<{ body: Readable; length: number } | undefined> {
  try {
    const download = await container.getBlobClient(statusBlobName(feed, packageUid)).download();
    return {
      body: download.readableStreamBody as Readable,
      length: download.contentLength ?? 0,
    };
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/**
 * Writes the record: the full lists first when the document cannot hold them, so that whatever
 * happens, the document never names keys its full list lacks.
 */
export async function writeStatusDocument(
  container: ContainerClient,
  doc: StatusDocument,
): Promise<void> {
  const shown = displayed(storedForm(doc), `status/${fullListBlobName(doc.feed, doc.packageUid)}`);
  if (shown.fullList !== undefined) await writeFullList(container, doc);
  const body = JSON.stringify(shown, null, 2);
  await container
    .getBlockBlobClient(statusBlobName(doc.feed, doc.packageUid))
    .upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
    });
}

/** What a conditional rewrite of a document names: both blobs as they were read. */
export interface StatusDocumentVersion {
  readonly etag: string;
  /** The full list's, or undefined when there was none. */
  readonly fullListEtag: string | undefined;
}

/** The whole record and its version, for a change that must not undo a write made in between. */
export async function readStatusDocumentForUpdate(
  container: ContainerClient,
  feed: string,
  packageUid: string,
): Promise<{ doc: StatusDocument; version: StatusDocumentVersion } | undefined> {
  const etagOf = async (name: string) => {
    try {
      return (await container.getBlobClient(name).getProperties()).etag;
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
  };
  // Taken before the reads: a blob changed in between fails the rewrite, never goes unnoticed.
  const etag = await etagOf(statusBlobName(feed, packageUid));
  const fullListEtag = await etagOf(fullListBlobName(feed, packageUid));
  const doc =
    etag === undefined ? undefined : await readStatusDocument(container, feed, packageUid);
  return doc && etag !== undefined ? { doc, version: { etag, fullListEtag } } : undefined;
}

/** Writes the record only if neither blob changed since `version` was read; false if one did. */
export async function replaceStatusDocument(
  container: ContainerClient,
  doc: StatusDocument,
  version: StatusDocumentVersion,
): Promise<boolean> {
  const shown = displayed(storedForm(doc), `status/${fullListBlobName(doc.feed, doc.packageUid)}`);
  const body = JSON.stringify(shown, null, 2);
  try {
    if (shown.fullList !== undefined) {
      await writeFullList(
        container,
        doc,
        version.fullListEtag === undefined
          ? { ifNoneMatch: '*' }
          : { ifMatch: version.fullListEtag },
      );
    }
    await container
      .getBlockBlobClient(statusBlobName(doc.feed, doc.packageUid))
      .upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
        conditions: { ifMatch: version.etag },
      });
    return true;
  } catch (error) {
    if (error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409)) {
      return false;
    }
    throw error;
  }
}
