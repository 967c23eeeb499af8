import { odata, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { keyDigest } from '../keys/clientKey';
import { mapLimit } from '../util/mapLimit';
import { EntryLocation, KeyRecord, KeySource } from './location';

/**
 * Table layout of the symbolkeys table.
 *
 * PartitionKey = "{feed}_{first 4 hex digits of the key digest}": 65,536 partitions per feed, so
 * 100 million keys spread evenly and no partition runs hot.
 * RowKey = "{digest}_{source rank}_{order stamp}_{packageUid}": every candidate for a key sits in
 * one partition under one prefix, sorted so that the winner comes first: explicit (0) before
 * derived (1), then the earliest first-indexed package.
 */
const PARTITION_DIGITS = 4;

export interface KeyRowOwner {
  readonly feed: string;
  readonly packageUid: string;
  /** When the package was first indexed (ms since the epoch); fixes its precedence for good. */
  readonly firstIndexedAt: number;
}

function partitionKey(feed: string, digest: string): string {
  return `${feed}_${digest.slice(0, PARTITION_DIGITS)}`;
}

const SOURCE_RANK: Record<KeySource, string> = { explicit: '0', derived: '1' };

function rowKey(digest: string, source: KeySource, owner: KeyRowOwner): string {
  const stamp = owner.firstIndexedAt.toString().padStart(15, '0');
  return `${digest}_${SOURCE_RANK[source]}_${stamp}_${owner.packageUid}`;
}

export interface KeyRowRef {
  readonly key: string;
  readonly source: KeySource;
}

const rowSchema = z.object({
  key: z.string(),
  source: z.enum(['explicit', 'derived']),
  packageUid: z.string(),
  blob: z.string(),
  blobEtag: z.string(),
  entry: z.string(),
  dataOffset: z.number(),
  compressedSize: z.number(),
  size: z.number(),
  method: z.number(),
  crc32: z.number(),
});

const ROW_CONCURRENCY = 32;

/** Writes one row per key; rewriting the same keys for the same package replaces them in place. */
export async function writeKeyRows(
  table: TableClient,
  owner: KeyRowOwner,
  records: readonly KeyRecord[],
): Promise<void> {
  await mapLimit(records, ROW_CONCURRENCY, async ({ key, source, location }) => {
    const digest = keyDigest(key);
    await table.upsertEntity(
      {
        partitionKey: partitionKey(owner.feed, digest),
        rowKey: rowKey(digest, source, owner),
        key,
        source,
        ...location,
      },
      'Replace',
    );
  });
}

/** Point deletes of exactly the given rows; rows already gone are fine. */
export async function deleteKeyRows(
  table: TableClient,
  owner: KeyRowOwner,
  refs: readonly KeyRowRef[],
): Promise<void> {
  await mapLimit(refs, ROW_CONCURRENCY, async ({ key, source }) => {
    const digest = keyDigest(key);
    try {
      await table.deleteEntity(partitionKey(owner.feed, digest), rowKey(digest, source, owner));
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  });
}

/** The winning location of a normalised key in a feed: one single-partition range query. */
export async function findLocation(
  table: TableClient,
  feed: string,
  key: string,
): Promise<(EntryLocation & { source: KeySource }) | undefined> {
  const digest = keyDigest(key);
  const rows = table
    .listEntities({
      queryOptions: {
        filter: odata`PartitionKey eq ${partitionKey(feed, digest)} and RowKey gt ${digest} and RowKey lt ${`${digest}~`}`,
      },
    })
    .byPage({ maxPageSize: 4 });
  for await (const page of rows) {
    for (const entity of page) {
      const row = rowSchema.parse(entity);
      // The digest is 160 bits; comparing the key itself makes a collision harmless anyway.
      if (row.key === key) {
        const { key: _key, ...location } = row;
        return location;
      }
    }
    if (page.continuationToken === undefined) break;
  }
  return undefined;
}

/**
 * The candidate of another package that wins over this package's row for the same key, if any:
 * rows sort winner first, so it is the first row of another package before ours.
 */
export async function precedingCandidate(
  table: TableClient,
  owner: KeyRowOwner,
  record: KeyRowRef,
): Promise<{ blob: string; source: KeySource } | undefined> {
  const digest = keyDigest(record.key);
  const rows = table.listEntities<{
    key: string;
    blob: string;
    source: KeySource;
    packageUid: string;
  }>({
    queryOptions: {
      filter: odata`PartitionKey eq ${partitionKey(owner.feed, digest)} and RowKey gt ${digest} and RowKey lt ${rowKey(digest, record.source, owner)}`,
      select: ['key', 'blob', 'source', 'packageUid'],
    },
  });
  for await (const row of rows) {
    if (row.packageUid !== owner.packageUid && row.key === record.key) {
      return { blob: row.blob, source: row.source };
    }
  }
  return undefined;
}
