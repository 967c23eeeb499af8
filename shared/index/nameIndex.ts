import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { keyDigest } from '../keys/clientKey';
import { mapLimit } from '../util/mapLimit';
import type { Package } from '../packages/package';
import { KeyRecord, KeySource } from './location';

/**
 * The file names of a feed's keys, for "why is my symbol missing?": the usual cause is a rebuilt
 * binary, whose file name is the same under another index (`app.pdb/<other guid+age>/app.pdb`).
 * The key table is partitioned by the key's digest and cannot be searched by file name without
 * a scan, so indexing writes one more row per key here, and a lookup reads one range.
 *
 * Rows live in the symbolnames table: PartitionKey = "{feed}_{first 2 hex digits of the file
 * name's digest}", RowKey = "{file digest}_{key digest}_{packageUid}". Only keys of the SSQP form "file/index/file" are named, and not the
 * build-id-only debug files ("_.debug/elf-buildid-sym-<id>/_.debug"), which share one name.
 */
const ROWS_PER_TRANSACTION = 100;
const TRANSACTION_CONCURRENCY = 8;
const ROW_CONCURRENCY = 32;

/** The file name a key is filed under, lower-cased as keys are, or undefined. */
export function fileNameOf(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length !== 3) return undefined;
  const [file, , last] = parts;
  if (!file || file !== last || file === '_.debug') return undefined;
  return file.toLowerCase();
}

function partitionOf(feed: string, fileDigest: string): string {
  return `${feed}_${fileDigest.slice(0, 2)}`;
}

interface NameRow {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly key: string;
  readonly source: KeySource;
  readonly packageUid: string;
}

function rowsOf(owner: Pick<Package, 'feed' | 'packageUid'>, keys: readonly KeyRecord[]) {
  const rows: NameRow[] = [];
  for (const { key, source } of keys) {
    const file = fileNameOf(key);
    if (!file) continue;
    const fileDigest = keyDigest(file);
    rows.push({
      partitionKey: partitionOf(owner.feed, fileDigest),
      rowKey: `${fileDigest}_${keyDigest(key)}_${owner.packageUid}`,
      key,
      source,
      packageUid: owner.packageUid,
    });
  }
  return rows;
}

/** Transactions of one partition each, at most ROWS_PER_TRANSACTION rows. */
function batches(rows: readonly NameRow[]): NameRow[][] {
  const byPartition = new Map<string, NameRow[]>();
  for (const row of rows) {
    const list = byPartition.get(row.partitionKey) ?? [];
    if (!list.some((other) => other.rowKey === row.rowKey)) list.push(row);
    byPartition.set(row.partitionKey, list);
  }
  const out: NameRow[][] = [];
  for (const list of byPartition.values()) {
    for (let at = 0; at < list.length; at += ROWS_PER_TRANSACTION) {
      out.push(list.slice(at, at + ROWS_PER_TRANSACTION));
    }
  }
  return out;
}

/** Files this package's keys under their names; writing them again changes nothing. */
export async function writeNameRows(
  table: TableClient,
  owner: Pick<Package, 'feed' | 'packageUid'>,
  keys: readonly KeyRecord[],
): Promise<void> {
  await mapLimit(batches(rowsOf(owner, keys)), TRANSACTION_CONCURRENCY, async (batch) => {
    const actions: TransactionAction[] = batch.map((row) => ['upsert', { ...row }, 'Replace']);
    await table.submitTransaction(actions);
  });
}

/** Takes this package's keys off their names; rows already gone are no matter. */
export async function deleteNameRows(
  table: TableClient,
  owner: Pick<Package, 'feed' | 'packageUid'>,
  keys: readonly KeyRecord[],
): Promise<void> {
  await mapLimit(rowsOf(owner, keys), ROW_CONCURRENCY, async (row) => {
    await table.deleteEntity(row.partitionKey, row.rowKey).catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    });
  });
}

const nameRowSchema = z.object({
  key: z.string(),
  source: z.enum(['explicit', 'derived', 'upstream']),
  packageUid: z.string(),
});

export interface NamedKey {
  readonly key: string;
  readonly source: KeySource;
  readonly packageUid: string;
}

/** Keys filed under a file name in a feed: one range read, at most `limit` rows. */
export async function keysNamed(
  table: TableClient,
  feed: string,
  file: string,
  limit: number,
): Promise<{ keys: NamedKey[]; more: boolean }> {
  const fileDigest = keyDigest(file.toLowerCase());
  const pages = table
    .listEntities({
      queryOptions: {
        filter: odata`PartitionKey eq ${partitionOf(feed, fileDigest)} and RowKey gt ${`${fileDigest}_`} and RowKey lt ${`${fileDigest}~`}`,
      },
    })
    .byPage({ maxPageSize: limit });
  const { value: rows = [] } = await pages.next();
  return {
    keys: rows.map((row: unknown) => nameRowSchema.parse(row)),
    more: Boolean(rows.continuationToken),
  };
}
