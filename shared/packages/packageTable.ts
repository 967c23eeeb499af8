import { odata, RestError, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { PACKAGE_STATES, PackageState } from './states';

/** One row per package in the packages table: PartitionKey = feed, RowKey = packageUid. */
export interface PackageRow {
  readonly feed: string;
  readonly packageUid: string;
  /** Name of the blob inside the feed's folder. */
  readonly name: string;
  /** NuGet id and version (from the .nuspec, else from the file name). */
  readonly id: string;
  readonly version: string;
  /** Who uploaded it: the owner of the push token, or "" for a blob dropped into storage. */
  readonly owner: string;
  readonly uploadedAt: string;
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
  id: z.string().default(''),
  version: z.string().default(''),
  owner: z.string().default(''),
  uploadedAt: z.string().default(''),
  blobEtag: z.string(),
  size: z.number(),
  state: z.enum(PACKAGE_STATES),
  stateChangedAt: z.string(),
  firstIndexedAt: z.number(),
  keyCount: z.number(),
  errorCount: z.number(),
  warningCount: z.number(),
});

function toRow(entity: unknown): PackageRow {
  const { partitionKey, rowKey, ...rest } = rowSchema.parse(entity);
  return { feed: partitionKey, packageUid: rowKey, ...rest };
}

export async function getPackageRow(
  table: TableClient,
  feed: string,
  packageUid: string,
): Promise<PackageRow | undefined> {
  try {
    return toRow(await table.getEntity(feed, packageUid));
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

export async function putPackageRow(table: TableClient, row: PackageRow): Promise<void> {
  const { feed, packageUid, ...rest } = row;
  await table.upsertEntity({ partitionKey: feed, rowKey: packageUid, ...rest }, 'Replace');
}

/** Changes only the state of a package row, leaving what the indexer wrote. */
export async function setPackageState(
  table: TableClient,
  feed: string,
  packageUid: string,
  state: PackageState,
): Promise<void> {
  await table.updateEntity(
    { partitionKey: feed, rowKey: packageUid, state, stateChangedAt: new Date().toISOString() },
    'Merge',
  );
}

/** Every package of a feed (one partition), optionally in one state. */
export async function listPackages(
  table: TableClient,
  feed: string,
  state?: PackageState,
): Promise<PackageRow[]> {
  const filter = state
    ? odata`PartitionKey eq ${feed} and state eq ${state}`
    : odata`PartitionKey eq ${feed}`;
  const rows: PackageRow[] = [];
  for await (const entity of table.listEntities({ queryOptions: { filter } }))
    rows.push(toRow(entity));
  return rows;
}
