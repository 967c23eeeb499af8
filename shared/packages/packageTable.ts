import { RestError, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { PACKAGE_STATES, PackageState } from './states';

/** One row per package in the packages table: PartitionKey = feed, RowKey = packageUid. */
export interface PackageRow {
  readonly feed: string;
  readonly packageUid: string;
  readonly name: string;
  readonly blobEtag: string;
  readonly size: number;
  readonly state: PackageState;
  readonly stateChangedAt: string;
  /** ms since the epoch; decides precedence among packages offering the same key. */
  readonly firstIndexedAt: number;
  readonly keyCount: number;
  readonly errorCount: number;
  readonly warningCount: number;
}

const rowSchema = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  name: z.string(),
  blobEtag: z.string(),
  size: z.number(),
  state: z.enum(PACKAGE_STATES),
  stateChangedAt: z.string(),
  firstIndexedAt: z.number(),
  keyCount: z.number(),
  errorCount: z.number(),
  warningCount: z.number(),
});

export async function getPackageRow(
  table: TableClient,
  feed: string,
  packageUid: string,
): Promise<PackageRow | undefined> {
  try {
    const { partitionKey, rowKey, ...rest } = rowSchema.parse(
      await table.getEntity(feed, packageUid),
    );
    return { feed: partitionKey, packageUid: rowKey, ...rest };
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

export async function putPackageRow(table: TableClient, row: PackageRow): Promise<void> {
  const { feed, packageUid, ...rest } = row;
  await table.upsertEntity({ partitionKey: feed, rowKey: packageUid, ...rest }, 'Replace');
}
