import { odata, RestError, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { Package, PackageCounts } from './package';
import { PACKAGE_STATES, PackageState } from './states';
import { isAbsent } from '../storage/faults';

/**
 * One row per package in the packages table: PartitionKey = feed, RowKey = packageUid, the rest
 * the package's facts as they are, with the counts that listings show.
 */
export type PackageRow = Package & PackageCounts;

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

/** A package row as read, with the ETag that conditional writes of it name. */
export interface StoredPackageRow extends PackageRow {
  readonly etag: string;
}

function toRow(entity: unknown): PackageRow {
  const { partitionKey, rowKey, ...rest } = rowSchema.parse(entity);
  return { feed: partitionKey, packageUid: rowKey, ...rest };
}

export async function getPackageRow(
  table: TableClient,
  feed: string,
  packageUid: string,
): Promise<StoredPackageRow | undefined> {
  try {
    const entity = await table.getEntity(feed, packageUid);
    return { ...toRow(entity), etag: entity.etag };
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/** The row's properties; the ETag of a row as read is not one of them. */
function entityOf(row: PackageRow & { etag?: string }) {
  const { feed, packageUid, etag: _etag, ...rest } = row;
  return { partitionKey: feed, rowKey: packageUid, ...rest };
}

export async function putPackageRow(table: TableClient, row: PackageRow): Promise<void> {
  await table.upsertEntity(entityOf(row), 'Replace');
}

function lostRace(error: unknown): boolean {
  return error instanceof RestError && [404, 409, 412].includes(error.statusCode ?? 0);
}

/**
 * Writes a package row only if it is still as read (`etag`), or still absent (`undefined`):
 * of two runs that read the same row, one writes and the other learns it was overtaken. Returns
 * the new ETag, or undefined when the row had changed.
 */
export async function replacePackageRow(
  table: TableClient,
  row: PackageRow,
  etag: string | undefined,
): Promise<string | undefined> {
  const entity = entityOf(row);
  try {
    const written =
      etag === undefined
        ? await table.createEntity(entity)
        : await table.updateEntity(entity, 'Replace', { etag });
    return written.etag;
  } catch (error) {
    if (lostRace(error)) return undefined;
    throw error;
  }
}

/**
 * Changes only the state of a package row (and its error count, when an error came with the
 * change), leaving what the indexer wrote; with `etag`, only if the row is still as read (false
 * when it was not).
 */
export async function setPackageState(
  table: TableClient,
  feed: string,
  packageUid: string,
  state: PackageState,
  etag?: string,
  errorCount?: number,
): Promise<boolean> {
  const entity = {
    partitionKey: feed,
    rowKey: packageUid,
    state,
    stateChangedAt: new Date().toISOString(),
    ...(errorCount === undefined ? {} : { errorCount }),
  };
  try {
    await table.updateEntity(entity, 'Merge', etag === undefined ? {} : { etag });
    return true;
  } catch (error) {
    if (etag !== undefined && lostRace(error)) return false;
    throw error;
  }
}

/** After another package changed this one's warnings (a key handed over between them). */
export async function setWarningCount(
  table: TableClient,
  feed: string,
  packageUid: string,
  warningCount: number,
): Promise<void> {
  await table.updateEntity({ partitionKey: feed, rowKey: packageUid, warningCount }, 'Merge');
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

/** What a page of a feed's packages may be narrowed to; each is matched by the table itself. */
export interface PackageFilter {
  readonly state?: PackageState;
  readonly owner?: string;
  /** The start of the id, as it was uploaded (the table compares case-sensitively). */
  readonly idPrefix?: string;
}

/**
 * One page of a feed's packages, in uid order, and the token to the next page, if any: a listing
 * costs one table query whatever the feed holds. A page can hold fewer rows than asked, even
 * none, and still have a next one (the table stops at its own limits).
 */
export async function listPackagePage(
  table: TableClient,
  feed: string,
  filter: PackageFilter,
  pageSize: number,
  continuationToken?: string,
): Promise<{ rows: PackageRow[]; continuationToken?: string }> {
  const clauses = [odata`PartitionKey eq ${feed}`];
  if (filter.state) clauses.push(odata`state eq ${filter.state}`);
  if (filter.owner !== undefined) clauses.push(odata`owner eq ${filter.owner}`);
  if (filter.idPrefix) {
    clauses.push(odata`id ge ${filter.idPrefix} and id lt ${`${filter.idPrefix}\uffff`}`);
  }
  const pages = table
    .listEntities({ queryOptions: { filter: clauses.join(' and ') } })
    .byPage({ maxPageSize: pageSize, ...(continuationToken && { continuationToken }) });
  const { value: page } = await pages.next();
  if (!page) return { rows: [] };
  return {
    rows: page.map(toRow),
    ...(page.continuationToken && { continuationToken: page.continuationToken }),
  };
}
