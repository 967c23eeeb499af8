import { Readable } from 'node:stream';
import { ReadableStream as WebStream } from 'node:stream/web';
import { z } from 'zod';
import { packageHasher, SHA512_METADATA } from '../catalog/packageHash';
import { Feed, getMirrorCursor, setMirrorCursor } from '../feeds/feedTable';
import { normalizeVersion } from '../nuget/nugetVersion';
import { PackageNotFoundError, requestDelete } from '../packages/deletePackage';
import { packageBlob } from '../packages/package';
import { packageUidFor } from '../packages/packageUid';
import { StorageClients } from '../storage/clients';
import { MirrorError, MirrorSource, sourceEndpoints, SourceEndpoints } from './mirrorSource';

/** What a mirror run uses: the mirror's storage, and how it reaches the source. */
export interface MirrorPorts {
  readonly storage: StorageClients;
  readonly fetch?: typeof fetch;
}

export interface MirrorRun {
  /** Packages copied (new, or new content under a source uid copied before). */
  readonly copied: number;
  /** Deletes asked for (or copies removed before they were indexed). */
  readonly deleted: number;
  /** Events with nothing to do: not succeeded, copied already, gone from the source. */
  readonly skipped: number;
  /** The commit time of the last source event done; '' before any. */
  readonly cursor: string;
  /** Whether the run stopped at its limit with events left. */
  readonly more: boolean;
}

const indexSchema = z.object({
  items: z.array(z.object({ '@id': z.string(), commitTimeStamp: z.string() })),
});

const pageSchema = z.object({
  items: z.array(
    z.object({
      '@id': z.string(),
      '@type': z.enum(['nuget:PackageDetails', 'nuget:PackageDelete']),
      commitTimeStamp: z.string(),
      'symfeed:packageUid': z.string().regex(/^[0-9a-f]{32}$/),
    }),
  ),
});
type PageItem = z.infer<typeof pageSchema>['items'][number];

const leafSchema = z.object({
  id: z.string().min(1).max(256),
  version: z.string().min(1).max(256),
  'symfeed:state': z.string(),
  packageHash: z.string().optional(),
});
type Leaf = z.infer<typeof leafSchema>;

/** The copy of a source package: one blob name per source package, so a copy again overwrites. */
export function mirrorBlobName(sourceUid: string): string {
  return `mirror-${sourceUid}.nupkg`;
}

/** Source package the copy came from, and the content it had, in the copy's blob metadata. */
const SOURCE_UID_METADATA = 'mirrorof';

/** Copies stream in blocks of this size, committed only when the whole package came and matched. */
const BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * One run of a mirror feed: the source catalog's events after the feed's cursor, in commit
 * order; the cursor moves after each event, so a run stopped anywhere resumes at the next one.
 * `limit` stops the run after that many events, `stopAt` (epoch ms) after the event under way then.
 */
export async function runMirror(
  ports: MirrorPorts,
  feed: Feed,
  options: { limit?: number; stopAt?: number } = {},
): Promise<MirrorRun> {
  if (!feed.mirror) throw new MirrorError(`feed "${feed.name}" is not a mirror`);
  const source = new MirrorSource(feed.mirror, ports.fetch);
  const endpoints = await sourceEndpoints(source);
  let cursor = await getMirrorCursor(ports.storage.feedsTable, feed.name);
  const counts = { copied: 0, deleted: 0, skipped: 0 };
  let done = 0;
  const index = await source.json(endpoints.catalog, indexSchema);
  for (const page of index.items) {
    if (page.commitTimeStamp <= cursor) continue;
    const { items } = await source.json(page['@id'], pageSchema);
    for (const item of items) {
      if (item.commitTimeStamp <= cursor) continue;
      const over = options.stopAt !== undefined && Date.now() >= options.stopAt;
      if (over || (options.limit !== undefined && done >= options.limit)) {
        return { ...counts, cursor, more: true };
      }
      counts[await followEvent(ports, source, endpoints, feed.name, item)]++;
      cursor = item.commitTimeStamp;
      await setMirrorCursor(ports.storage.feedsTable, feed.name, cursor);
      done++;
    }
  }
  return { ...counts, cursor, more: false };
}

type EventOutcome = 'copied' | 'deleted' | 'skipped';

function followEvent(
  ports: MirrorPorts,
  source: MirrorSource,
  endpoints: SourceEndpoints,
  feed: string,
  item: PageItem,
): Promise<EventOutcome> {
  const name = mirrorBlobName(item['symfeed:packageUid']);
  return item['@type'] === 'nuget:PackageDelete'
    ? deleteCopy(ports, feed, name)
    : copyPackage(ports, source, endpoints, feed, name, item);
}

async function copyPackage(
  ports: MirrorPorts,
  source: MirrorSource,
  endpoints: SourceEndpoints,
  feed: string,
  name: string,
  item: PageItem,
): Promise<EventOutcome> {
  const leaf = await source.json(item['@id'], leafSchema);
  // Partial and damaged packages stay the source's to repair; the mirror copies what serves well.
  if (leaf['symfeed:state'] !== 'succeeded') return 'skipped';
  const blob = ports.storage.packagesContainer.getBlockBlobClient(packageBlob({ feed, name }));
  if (leaf.packageHash && (await copiedHash(blob)) === leaf.packageHash) return 'skipped';
  const response = await source.get(contentUrl(endpoints.originalContent, leaf));
  // Deleted at the source since: its PackageDelete comes later in the catalog.
  if (response.status === 404) {
    await response.body?.cancel();
    return 'skipped';
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new MirrorError(`the source answered ${response.status} to the download of ${leaf.id}`);
  }
  const body = Readable.fromWeb(response.body as WebStream<Uint8Array>);
  const hash = await stageBlocks(blob, body);
  if (leaf.packageHash && hash.sha512 !== leaf.packageHash) {
    throw new MirrorError(
      `${leaf.id} ${leaf.version} downloaded from the source does not match the catalog's SHA-512`,
    );
  }
  // Committed only now: the indexer never sees a half copy, and a run cut off leaves none.
  await blob.commitBlockList(hash.blocks, {
    metadata: {
      [SHA512_METADATA]: hash.sha512,
      [SOURCE_UID_METADATA]: item['symfeed:packageUid'],
    },
  });
  return 'copied';
}

/** The SHA-512 the copy was made with, if the copy is there. */
async function copiedHash(blob: {
  getProperties(): Promise<{ metadata?: Record<string, string> }>;
}): Promise<string | undefined> {
  try {
    return (await blob.getProperties()).metadata?.[SHA512_METADATA];
  } catch {
    return undefined;
  }
}

function contentUrl(base: string, leaf: Leaf): string {
  const id = encodeURIComponent(leaf.id.toLowerCase());
  const version = encodeURIComponent(normalizeVersion(leaf.version).toLowerCase());
  return `${base}${id}/${version}/${id}.${version}.nupkg`;
}

async function stageBlocks(
  blob: { stageBlock(id: string, body: Buffer, length: number): Promise<unknown> },
  body: Readable,
): Promise<{ blocks: string[]; sha512: string }> {
  const hash = packageHasher();
  const blocks: string[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const id = Buffer.from(String(blocks.length).padStart(8, '0')).toString('base64');
    await blob.stageBlock(id, Buffer.concat(pending), pendingBytes);
    blocks.push(id);
    pending = [];
    pendingBytes = 0;
  };
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes >= BLOCK_BYTES) await flush();
  }
  if (pendingBytes > 0 || blocks.length === 0) await flush();
  return { blocks, sha512: hash.digest('base64') };
}

/**
 * The source deleted the package: the copy goes the way every delete goes. A copy not indexed
 * yet has no package to delete: its blob goes, and the indexer finds it gone.
 */
async function deleteCopy(ports: MirrorPorts, feed: string, name: string): Promise<EventOutcome> {
  const packageUid = packageUidFor(feed, name);
  try {
    const outcome = await requestDelete(
      { storage: ports.storage },
      { feed, packageUid, reason: 'deleted at the mirror source' },
    );
    return outcome === 'queued' ? 'deleted' : 'skipped';
  } catch (error) {
    if (!(error instanceof PackageNotFoundError)) throw error;
    const gone = await ports.storage.packagesContainer
      .getBlobClient(packageBlob({ feed, name }))
      .deleteIfExists();
    return gone.succeeded ? 'deleted' : 'skipped';
  }
}
