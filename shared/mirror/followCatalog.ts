import { z } from 'zod';
import { Feed, getMirrorCursor, setMirrorCursor } from '../feeds/feedTable';
import { PackageNotFoundError, requestDelete } from '../packages/deletePackage';
import { packageBlob } from '../packages/package';
import { packageUidFor } from '../packages/packageUid';
import { StorageClients } from '../storage/clients';
import { copyInto } from './copyPackage';
import { crawlV2 } from './crawlV2';
import { MirrorError, MirrorSource, sourceCatalog } from './mirrorSource';

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
  'symfeed:packageContent': z.string().optional(),
});

/** The copy of a source package: one blob name per source package, so a copy again overwrites. */
export function mirrorBlobName(sourceUid: string): string {
  return `mirror-${sourceUid}.nupkg`;
}

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
  let cursor = await getMirrorCursor(ports.storage.feedsTable, feed.name);
  if (feed.mirror.protocol === 'v2') {
    return { deleted: 0, ...(await crawlV2(ports.storage, source, feed.name, cursor, options)) };
  }
  const counts = { copied: 0, deleted: 0, skipped: 0 };
  let done = 0;
  const index = await source.json(await sourceCatalog(source), indexSchema);
  for (const page of index.items) {
    if (page.commitTimeStamp <= cursor) continue;
    const { items } = await source.json(page['@id'], pageSchema);
    for (const item of items) {
      if (item.commitTimeStamp <= cursor) continue;
      const over = options.stopAt !== undefined && Date.now() >= options.stopAt;
      if (over || (options.limit !== undefined && done >= options.limit)) {
        return { ...counts, cursor, more: true };
      }
      counts[await followEvent(ports, source, feed.name, item)]++;
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
  feed: string,
  item: PageItem,
): Promise<EventOutcome> {
  const name = mirrorBlobName(item['symfeed:packageUid']);
  return item['@type'] === 'nuget:PackageDelete'
    ? deleteCopy(ports, feed, name)
    : copyPackage(ports, source, feed, name, item);
}

async function copyPackage(
  ports: MirrorPorts,
  source: MirrorSource,
  feed: string,
  name: string,
  item: PageItem,
): Promise<EventOutcome> {
  const leaf = await source.json(item['@id'], leafSchema);
  // Partial and damaged packages stay the source's to repair; the mirror copies what serves well.
  if (leaf['symfeed:state'] !== 'succeeded') return 'skipped';
  const content = leaf['symfeed:packageContent'];
  if (content === undefined) {
    throw new MirrorError(
      `${item['@id']} has no symfeed:packageContent: the source's catalog is older than mirrors that read it`,
    );
  }
  return copyInto(ports.storage, source, {
    feed,
    name,
    url: new URL(content, item['@id']).toString(),
    what: `${leaf.id} ${leaf.version}`,
    ...(leaf.packageHash ? { sha512: leaf.packageHash } : {}),
  });
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
