import { createHash } from 'node:crypto';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { createInflateRaw, inflateRaw } from 'node:zlib';
import { RestError } from '@azure/storage-blob';
import { authorize, Credentials, TokenLookup } from '../feeds/access';
import { Settings } from '../config/settings';
import { feedNameSchema } from '../feeds/feedName';
import { Feed, Visibility } from '../feeds/feedTable';
import { decodeKeyFromPath } from '../keys/clientKey';
import { EntryLocation } from '../index/location';
import { FoundLocation } from '../index/keyTable';
import { FeedCache } from '../feeds/feedCache';
import { COMPRESSION_METHODS, implausibleCompressedSize } from '../zip/packageZip';
import { checkedEntryBytes, damageOf } from '../zip/entryBytes';
import { readRange } from './blobRange';
import { parseRange } from './byteRange';
import { acceptsGzip, GZIP_FRAME_BYTES, GZIP_HEADER, gzipTrailer } from './contentCoding';
import { HotFiles } from './hotFiles';
import { LocationCache } from './locationCache';
import { verifiedEntry } from './verifiedEntry';
import { isStorageFailure, StorageClients } from '../storage/clients';
import { Upstreams } from '../upstream/askUpstreams';
import type { MissedKeys } from '../misses/missedKeys';

/**
 * What serving a file uses: the feed and location caches, the hot files, the tokens that grant
 * access and the packages the files are in.
 */
export interface ServingPorts {
  readonly settings: Pick<
    Settings,
    'SYMFEED_PUBLIC_MAX_AGE_SECONDS' | 'SYMFEED_PRIVATE_MAX_AGE_SECONDS'
  >;
  readonly storage: Pick<StorageClients, 'packagesContainer'>;
  readonly tokens: TokenLookup;
  readonly feeds: Pick<FeedCache, 'feed'>;
  readonly locations: Pick<LocationCache, 'resolve' | 'invalidate'>;
  readonly hotFiles: HotFiles;
  readonly upstreams: Pick<Upstreams, 'find' | 'forget'>;
  /** Counts the keys answered 404, for the web page's missing symbols. */
  readonly misses?: Pick<MissedKeys, 'record'>;
}

export interface SymbolRequest {
  readonly method: 'GET' | 'HEAD';
  readonly feed: string;
  /** The key exactly as it appeared in the request path, still percent-encoded. */
  readonly rawKey: string;
  readonly range?: string | null;
  readonly ifNoneMatch?: string | null;
  /** The request's Accept-Encoding: deflated entries go out as gzip to those that take it. */
  readonly acceptEncoding?: string | null;
  readonly credentials: Credentials;
}

export interface SymbolResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: Readable | Buffer | string;
  /** For telemetry: the feed asked for, once it is known to exist. */
  readonly feed?: string;
  /** For telemetry: hot when the file's bytes came from memory. */
  readonly cache?: 'hot' | 'cold';
  /** The entry answered (200, 206, 304), for the debuginfod route's own headers. */
  readonly file?: EntryLocation;
  /** For the log, never sent: why symfeed failed this answer (5xx). */
  readonly cause?: string;
}

/** What serving learns along the way that the response alone does not tell. */
interface Facts {
  feed?: string;
  cache?: 'hot';
  file?: EntryLocation;
}

function text(status: number, message: string, extra: Record<string, string> = {}): SymbolResponse {
  return {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra },
    body: `${message}\n`,
  };
}

/**
 * Strong: the bytes of an entry in an indexed blob version never change. Its gzip form is other
 * bytes, so it has its own tag.
 */
function entityTag(location: EntryLocation, gzip: boolean): string {
  const digest = createHash('sha256')
    .update(`${location.blobEtag}\n${location.blob}\n${location.dataOffset}${gzip ? '\ngzip' : ''}`)
    .digest('base64url')
    .slice(0, 22);
  return `"${digest}"`;
}

function etagMatches(header: string, etag: string): boolean {
  return header.trim() === '*' || header.split(',').some((tag) => tag.trim() === etag);
}

/**
 * zlib's default 16 KiB output chunks cost a thread-pool round trip each and held a 100 MB entry
 * to about 100 MB/s; 256 KiB chunks stream it 60-80% faster, and 1 MiB chunks or larger input
 * chunks add no more than the noise of the measurement.
 */
const INFLATE_CHUNK_BYTES = 256 * 1024;

function pipeWithErrors(source: Readable, ...stages: Transform[]): Readable {
  let current = source;
  for (const stage of stages) {
    current.on('error', (error) => stage.destroy(error));
    current = current.pipe(stage);
  }
  return current;
}

/**
 * Access changes must not be softened by caches: by default every cache revalidates before each
 * use (`no-cache`; the strong ETag makes that a 304), and the revalidation is refused once the
 * feed is private or the token revoked. Each visibility has its own lifetime setting, so raising
 * the public one never lets private files live on.
 */
function cacheControlFor(visibility: Visibility, settings: ServingPorts['settings']): string {
  const [scope, seconds] =
    visibility === 'public'
      ? ['public', settings.SYMFEED_PUBLIC_MAX_AGE_SECONDS]
      : ['private', settings.SYMFEED_PRIVATE_MAX_AGE_SECONDS];
  return seconds > 0 ? `${scope}, max-age=${seconds}` : `${scope}, no-cache`;
}

/**
 * SSQP: resolves a key in a feed and streams the entry straight out of its package with one
 * ranged blob read, inflating on the fly when the entry is deflated.
 */
export async function serveSymbol(
  ports: ServingPorts,
  request: SymbolRequest,
): Promise<SymbolResponse> {
  const facts: Facts = {};
  return { ...(await answer(ports, request, facts)), ...facts };
}

async function answer(
  ports: ServingPorts,
  request: SymbolRequest,
  facts: Facts,
): Promise<SymbolResponse> {
  const check = decodeKeyFromPath(request.rawKey);
  if (!check.ok) return text(400, `Bad symbol key: ${check.reason}.`);
  const feedName = feedNameSchema.safeParse(request.feed);
  if (!feedName.success) return text(404, `Feed "${request.feed}" does not exist.`);
  try {
    const feed = await ports.feeds.feed(feedName.data);
    if (!feed) return text(404, `Feed "${request.feed}" does not exist.`);
    facts.feed = feed.name;
    // Before any lookup: a caller who may not read the feed learns nothing of its keys.
    const access = await authorize(ports.tokens, feed, 'read', request.credentials);
    if (!access.ok) {
      return text(
        access.status,
        access.message,
        access.challenge ? { 'WWW-Authenticate': access.challenge } : {},
      );
    }
    const cacheControl = cacheControlFor(feed.visibility, ports.settings);
    // A remembered location can outlive its package (deleted or replaced by another instance):
    // the read then fails, the memory is dropped, and the key is resolved afresh once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const found =
        (await ports.locations.resolve(feed, check.key)) ??
        (await fromUpstreams(ports, request, feed, check.key, cacheControl));
      if (!('blob' in found)) return found;
      const response = await respond(ports, request, found, cacheControl, facts);
      if (response !== STALE) return response;
      // The member feed that holds the package is the folder of its blob.
      ports.locations.invalidate(found.blob.slice(0, found.blob.indexOf('/')), [check.key]);
      ports.upstreams.forget(feed, check.key);
    }
    return {
      ...text(503, 'The package holding this file is changing; retry shortly.', {
        'Retry-After': '2',
      }),
      cause: `key "${check.key}" in feed "${feed.name}": its package changed under both reads`,
    };
  } catch (error) {
    if (isStorageFailure(error)) {
      return {
        ...text(503, 'Symbol storage is unavailable; retry shortly.', { 'Retry-After': '5' }),
        cause: `storage: ${(error as Error).message}`,
      };
    }
    throw error;
  }
}

/**
 * A key no package has, from the feed's upstreams: the stored file's place, or, for the request
 * that fetches it, the bytes as they arrive (whole; a Range is not applied to them), or a 404.
 */
async function fromUpstreams(
  ports: ServingPorts,
  request: SymbolRequest,
  feed: Feed,
  key: string,
  cacheControl: string,
): Promise<EntryLocation | SymbolResponse> {
  const clientKey = decodeURIComponent(request.rawKey);
  const answer = await ports.upstreams.find(feed, key, clientKey);
  if (answer.kind === 'stored') return answer.location;
  if (answer.kind === 'none') {
    const failed =
      answer.failed.length > 0 ? ` (upstreams failing: ${answer.failed.join('; ')})` : '';
    ports.misses?.record(feed.name, key);
    return text(404, `No file with key "${key}" in feed "${feed.name}"${failed}.`);
  }
  if (request.method === 'HEAD') {
    // Nobody reads the bytes: the fetch goes on into storage alone.
    answer.body.destroy();
    try {
      return await answer.stored;
    } catch (error) {
      return {
        ...text(502, 'The upstream holding this file failed while sending it; retry shortly.'),
        cause: `upstream ${answer.url}: ${(error as Error).message}`,
      };
    }
  }
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': cacheControl,
      'Accept-Ranges': 'none',
      ...(answer.length === undefined ? {} : { 'Content-Length': String(answer.length) }),
    },
    body: answer.body,
  };
}

/** The package blob is gone or replaced since its location was looked up. */
const STALE = Symbol('stale location');

/**
 * Inflating in one call blocks the event loop for as long as it takes (about 20 ms for 8 MiB):
 * above this, the inflating goes to zlib's thread pool. Below, the round trip there costs more
 * than the work.
 */
const INFLATE_SYNC_BYTES = 64 * 1024;
const inflateRawAsync = promisify(inflateRaw);

/** Where a hot entry's bytes are kept: by form, as each form is sent whole. */
function hotKey(location: EntryLocation, gzip: boolean): string {
  return `${location.blob}\n${location.blobEtag}\n${location.dataOffset}${gzip ? '\ngzip' : ''}`;
}

/** A location as the key's row gave it: with the entry's data when the row holds it. */
type ServedLocation = EntryLocation & Pick<FoundLocation, 'inline'>;

/**
 * A hot entry's bytes as sent, from memory, else from the data its key row brought, else with one
 * ranged read that fills it; undefined when fills under way already hold their budget, and the
 * entry streams instead. Data from the row is in memory already: it is served whatever the
 * budget, and kept as any other.
 */
async function hotFile(
  ports: ServingPorts,
  location: ServedLocation,
  gzip: boolean,
  facts: Facts,
): Promise<Buffer | typeof STALE | { damaged: string } | undefined> {
  const key = hotKey(location, gzip);
  const cached = ports.hotFiles.get(key);
  if (cached) {
    facts.cache = 'hot';
    return cached;
  }
  const load = async () => {
    const file = await readHotFile(ports, location, gzip);
    if (Buffer.isBuffer(file)) ports.hotFiles.set(key, file);
    return file;
  };
  if (location.inline) return load();
  // While it fills: the bytes read, and beside them the inflated file or the gzip member.
  const holds =
    location.method === COMPRESSION_METHODS.stored
      ? location.size
      : location.compressedSize +
        (gzip ? location.compressedSize + GZIP_FRAME_BYTES : location.size);
  return ports.hotFiles.fill(key, holds, load);
}

/**
 * One ranged read of the entry, as its gzip member or inflated and checked once against the
 * central directory (size and CRC-32): what passes is served from memory from then on unchecked.
 * The gzip member is not inflated here: the client's gunzip checks the CRC-32 in its trailer.
 */
async function readHotFile(
  ports: ServingPorts,
  location: ServedLocation,
  gzip: boolean,
): Promise<Buffer | typeof STALE | { damaged: string }> {
  let raw: Buffer;
  try {
    raw =
      location.inline ??
      (await ports.storage.packagesContainer
        .getBlobClient(location.blob)
        .downloadToBuffer(location.dataOffset, location.compressedSize, {
          conditions: { ifMatch: location.blobEtag },
        }));
  } catch (error) {
    if (error instanceof RestError && (error.statusCode === 412 || error.statusCode === 404)) {
      return STALE;
    }
    throw error;
  }
  if (gzip) return Buffer.concat([GZIP_HEADER, raw, gzipTrailer(location.crc32, location.size)]);
  if (location.method === COMPRESSION_METHODS.stored || location.size <= INFLATE_SYNC_BYTES) {
    const checked = checkedEntryBytes(location, raw);
    return 'problem' in checked ? { damaged: checked.problem } : checked.bytes;
  }
  let file: Buffer;
  try {
    file = await inflateRawAsync(raw, { maxOutputLength: location.size + 1 });
  } catch (error) {
    return { damaged: `it does not inflate (${(error as Error).message})` };
  }
  const damage = damageOf(location, file);
  return damage ? { damaged: damage } : file;
}

function damaged(location: EntryLocation, why: string): SymbolResponse {
  const message = `The file "${location.entry}" is damaged inside package "${location.blob}": ${why}.`;
  return { ...text(500, message), cause: message };
}

async function respond(
  ports: ServingPorts,
  request: SymbolRequest,
  location: ServedLocation,
  cacheControl: string,
  facts: Facts,
): Promise<SymbolResponse | typeof STALE> {
  const stored = location.method === COMPRESSION_METHODS.stored;
  // The deflate stream inside the package is already the body of a gzip member.
  const gzip = !stored && acceptsGzip(request.acceptEncoding);
  const etag = entityTag(location, gzip);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    ETag: etag,
    'Cache-Control': cacheControl,
    'Accept-Ranges': stored ? 'bytes' : 'none',
    'X-Symfeed-Package': encodeURIComponent(location.blob),
    'X-Symfeed-Package-Uid': location.packageUid,
    ...(stored ? {} : { Vary: 'Accept-Encoding' }),
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  };
  facts.file = location;
  if (request.ifNoneMatch && etagMatches(request.ifNoneMatch, etag)) {
    return { status: 304, headers };
  }
  // A deflate stream cannot be entered in the middle: deflated entries always go out whole.
  const range = stored ? parseRange(request.range, location.size) : ({ kind: 'whole' } as const);
  if (range.kind === 'unsatisfiable') {
    return text(416, `The range is outside the ${location.size}-byte file.`, {
      'Content-Range': `bytes */${location.size}`,
    });
  }
  const [start, end] = range.kind === 'range' ? [range.start, range.end] : [0, location.size];
  if (range.kind === 'range')
    headers['Content-Range'] = `bytes ${start}-${end - 1}/${location.size}`;
  headers['Content-Length'] = String(
    gzip ? location.compressedSize + GZIP_FRAME_BYTES : end - start,
  );
  const status = range.kind === 'range' ? 206 : 200;
  if (request.method === 'HEAD') return { status, headers };
  if (location.size === 0 && !gzip) return { status, headers, body: '' };

  // Rows indexed before compressed sizes were checked may declare megabytes for a tiny file.
  const implausible = implausibleCompressedSize(location);
  if (implausible) return damaged(location, `it ${implausible}`);
  // One buffer never holds more than the hot-file size, whatever the entry's header declares, or
  // the inline size its data was checked against at index time.
  const sent = gzip
    ? location.compressedSize + GZIP_FRAME_BYTES
    : Math.max(location.size, location.compressedSize);
  if (location.inline || sent <= ports.hotFiles.maxFileBytes) {
    const file = await hotFile(ports, location, gzip, facts);
    if (file === STALE) return STALE;
    if (file !== undefined) {
      if (!Buffer.isBuffer(file)) return damaged(location, file.damaged);
      return { status, headers, body: gzip ? file : file.subarray(start, end) };
    }
  }
  const [readFrom, readLength] = stored
    ? [location.dataOffset + start, end - start]
    : [location.dataOffset, location.compressedSize];
  // Only here: building a BlobClient costs about as much CPU as answering a hot file.
  const blob = ports.storage.packagesContainer.getBlobClient(location.blob);
  const read = await readRange(blob, readFrom, readLength, location.blobEtag);
  if ('stale' in read) return STALE;
  // A part of a stored entry cannot be checked against the CRC-32 of the whole.
  if (range.kind === 'range') return { status, headers, body: read.body };
  if (gzip) return { status, headers, body: pipeWithErrors(read.body, gzipMember(location)) };
  return {
    status,
    headers,
    body: stored
      ? pipeWithErrors(read.body, verifiedEntry(location))
      : pipeWithErrors(
          read.body,
          createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES }),
          verifiedEntry(location),
        ),
  };
}

/** The raw deflate bytes framed as one gzip member, as they stream. */
function gzipMember(location: EntryLocation): Transform {
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!started) this.push(GZIP_HEADER);
      started = true;
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (!started) this.push(GZIP_HEADER);
      callback(null, gzipTrailer(location.crc32, location.size));
    },
  });
}
