import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import { crc32 } from 'node:zlib';
import yazl from 'yazl';
import { ContainerClient } from '@azure/storage-blob';
import { Upstream } from '../feeds/feedTable';
import { EntryLocation, KeyRecord } from '../index/location';
import { keyDigest } from '../keys/clientKey';
import { packageUidFor } from '../packages/packageUid';
import { SYMBOL_INDEX_NAME } from '../index/symbolIndex';
import { COMPRESSION_METHODS } from '../zip/packageZip';
import { BLOCK_BYTES, percentEncoded, StagedBlocks } from '../storage/stagedBlocks';

/** The owner of a package fetched from an upstream, as its blob metadata and its row record it. */
export const UPSTREAM_OWNER_PREFIX = 'upstream:';

export function upstreamOwner(upstream: Pick<Upstream, 'url'>): string {
  return `${UPSTREAM_OWNER_PREFIX}${upstream.url}`;
}

/**
 * The keys of a package fetched from an upstream rank below every uploaded package's, explicit or
 * derived, whichever was indexed first: an upstream file stands in only until a package of the
 * feed offers the key.
 */
export function keysOfOwner<T extends { keys: readonly KeyRecord[] }>(
  owner: string,
  analysis: T,
): T {
  if (!owner.startsWith(UPSTREAM_OWNER_PREFIX)) return analysis;
  return { ...analysis, keys: analysis.keys.map((record) => ({ ...record, source: 'upstream' })) };
}

/**
 * One package per key: fetching the same key again (after a delete, or on two instances at once)
 * writes the same blob, so the feed never holds two copies of it. The name says what the file is.
 */
export function upstreamPackageName(key: string): string {
  const file = (key.split('/').pop() ?? '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return `upstream-${file}-${keyDigest(key).slice(0, 16)}.zip`;
}

export interface FetchedFile {
  readonly feed: string;
  readonly key: string;
  readonly clientKey: string;
  readonly upstream: Pick<Upstream, 'url'>;
  /** Where the file came from. */
  readonly url: string;
  readonly body: AsyncIterable<Buffer>;
  /** Lets the upstream go when storing stops early. */
  readonly cancel: () => void;
}

export interface StoringFile {
  /** The bytes as they arrive, for the client; destroyed with the cause when the fetch fails. */
  readonly client: Readable;
  /** The file's place once its package is committed; rejects when nothing was stored. */
  readonly stored: Promise<EntryLocation>;
}

/**
 * Streams a fetched file to the client and into a package of the feed at once. The package's
 * blocks are staged as the bytes come and committed only once the whole body arrived: an
 * upstream that dies mid-body or sends too much leaves only uncommitted blocks (Azure drops them
 * within a week), and the client's response is cut, never ended as if whole. A client that goes
 * away does not stop the fetch: the file is still stored for the next request.
 */
export function storeUpstreamFile(container: ContainerClient, file: FetchedFile): StoringFile {
  const client = new PassThrough({ highWaterMark: BLOCK_BYTES });
  // The response's reader may be gone before the error; the error is reported through `stored`.
  client.on('error', () => undefined);
  const stored = store(container, file, client).catch((error: unknown) => {
    file.cancel();
    client.destroy(error as Error);
    throw error;
  });
  stored.catch(() => undefined);
  return { client, stored };
}

/** Writes to the client at the client's pace, unless the client is gone. */
async function toClient(client: PassThrough, chunk: Buffer): Promise<void> {
  if (client.destroyed) return;
  if (client.write(chunk)) return;
  await Promise.race([once(client, 'drain'), once(client, 'close')]);
}

/** The zip's times say nothing (the fetch time is in the blob's metadata): the earliest DOS date. */
const ZIP_ENTRY_OPTIONS = { compress: false, forceDosTimestamp: true, mtime: new Date(1980, 0, 1) };

/**
 * The package: the file as a stored entry (so that ranges are served from it), its CRC and size
 * in a data descriptor after it since they are known only at the end, then a symbol_index.json
 * mapping the key to it. Below 4 GiB in all, so no Zip64 (SYMFEED_UPSTREAM_MAX_BYTES keeps it so).
 */
async function store(
  container: ContainerClient,
  file: FetchedFile,
  client: PassThrough,
): Promise<EntryLocation> {
  const name = upstreamPackageName(file.key);
  const blob = `${file.feed}/${name}`;
  const zip = new yazl.ZipFile();
  const entry = new PassThrough({ highWaterMark: BLOCK_BYTES });
  zip.addReadStream(entry, file.key, ZIP_ENTRY_OPTIONS);
  const index = JSON.stringify([{ clientKey: file.clientKey, blobPath: file.key }]);
  zip.addBuffer(Buffer.from(index, 'utf8'), SYMBOL_INDEX_NAME, ZIP_ENTRY_OPTIONS);
  zip.end();
  const blocks = new StagedBlocks(container.getBlockBlobClient(blob));
  const staged = (async () => {
    for await (const bytes of zip.outputStream as AsyncIterable<Buffer>) await blocks.add(bytes);
  })();
  // Awaited below; until then a failed block write must not count as unhandled.
  staged.catch(() => undefined);
  let crc = 0;
  let size = 0;
  try {
    for await (const chunk of file.body) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      // The entry drains as its blocks are staged; a block that fails ends the wait too.
      if (!entry.write(chunk)) await Promise.race([once(entry, 'drain'), staged]);
      await toClient(client, chunk);
    }
    entry.end();
    await staged;
  } catch (error) {
    // Nothing is committed: the staged blocks are dropped by storage.
    (zip.outputStream as PassThrough).destroy(error as Error);
    await staged.catch(() => undefined);
    throw error;
  }
  // The client has every byte: it need not wait for the commit.
  client.end();
  const committed = await blocks.commit({
    metadata: percentEncoded({
      owner: upstreamOwner(file.upstream),
      upstreamurl: file.url,
      fetchedat: new Date().toISOString(),
    }),
    blobHTTPHeaders: { blobContentType: 'application/zip' },
  });
  return {
    packageUid: packageUidFor(file.feed, name),
    blob,
    blobEtag: committed.etag ?? '',
    entry: file.key,
    // The first local header has no extra field (forceDosTimestamp) and names the entry.
    dataOffset: 30 + Buffer.byteLength(file.key, 'utf8'),
    compressedSize: size,
    size,
    method: COMPRESSION_METHODS.stored,
    crc32: crc,
  };
}
