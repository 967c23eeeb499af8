import { odata, RestError, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { Package, PackageCounts } from './package';
import { PACKAGE_STATES, PackageState } from './states';
import { isAbsent } from '../storage/faults';
import { StorageClients } from '../storage/clients';
import { packageChanged } from '../listings/materialise';

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

/**
 * Where package rows live, and the listings made of them: every write of a row that changes what
 * listings show updates them after it (listings/materialise.ts).
 */
export type PackageStore = Pick<
  StorageClients,
  'packagesTable' | 'listingsContainer' | 'listingsMemory'
>;

function listingsOf(store: PackageStore) {
  return { container: store.listingsContainer, memory: store.listingsMemory };
}

export async function putPackageRow(store: PackageStore, row: PackageRow): Promise<void> {
  const before = await getPackageRow(store.packagesTable, row.feed, row.packageUid);
  await store.packagesTable.upsertEntity(entityOf(row), 'Replace');
  await packageChanged(listingsOf(store), before, row);
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
  store: PackageStore,
  row: PackageRow,
  etag: string | undefined,
): Promise<string | undefined> {
  const table = store.packagesTable;
  const entity = entityOf(row);
  // The row as it was, for the listings to take the upload off the id it was filed under.
  const before =
    etag === undefined ? undefined : await getPackageRow(table, row.feed, row.packageUid);
  if (etag !== undefined && before?.etag !== etag) return undefined;
  let written: string | undefined;
  try {
    written = (
      etag === undefined
        ? await table.createEntity(entity)
        : await table.updateEntity(entity, 'Replace', { etag })
    ).etag;
  } catch (error) {
    if (lostRace(error)) return undefined;
    throw error;
  }
  await packageChanged(listingsOf(store), before, row);
  return written;
}

/**
 * Changes only the state of a package row (and its error count, when an error came with the
 * change), leaving what the indexer wrote; with `etag`, only if the row is still as read (false
 * when it was not).
 */
export async function setPackageState(
  store: PackageStore,
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
    await store.packagesTable.updateEntity(entity, 'Merge', etag === undefined ? {} : { etag });
  } catch (error) {
    if (etag !== undefined && lostRace(error)) return false;
    throw error;
  }
  // A state change keeps the id: the upload's listing under it is all that changes.
  await packageChanged(
    listingsOf(store),
    undefined,
    await getPackageRow(store.packagesTable, feed, packageUid),
  );
  return true;
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

function feedFilter(feed: string, state?: PackageState): string {
  return state
    ? odata`PartitionKey eq ${feed} and state eq ${state}`
    : odata`PartitionKey eq ${feed}`;
}

/** Every package of a feed (one partition), optionally in one state. */
export async function listPackages(
  table: TableClient,
  feed: string,
  state?: PackageState,
): Promise<PackageRow[]> {
  const rows: PackageRow[] = [];
  const filter = feedFilter(feed, state);
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

export interface PackagePage {
  readonly rows: PackageRow[];
  /** Where the next page starts; absent after the last. */
  readonly continuation?: string;
}

/**
 * One page of a feed's packages: at most `top` rows from `continuation` (a token of an earlier
 * page), in uid order, so a listing costs one table query whatever the feed holds. Storage may
 * answer fewer rows than `top`, even none, with a continuation (the table stops at its own limits).
 */
export async function listPackagePage(
  table: TableClient,
  feed: string,
  page: PackageFilter & { top: number; continuation?: string },
): Promise<PackagePage> {
  const clauses = [odata`PartitionKey eq ${feed}`];
  if (page.state) clauses.push(odata`state eq ${page.state}`);
  if (page.owner !== undefined) clauses.push(odata`owner eq ${page.owner}`);
  if (page.idPrefix) {
    clauses.push(odata`id ge ${page.idPrefix} and id lt ${`${page.idPrefix}\uffff`}`);
  }
  const pages = table.listEntities({ queryOptions: { filter: clauses.join(' and ') } }).byPage({
    maxPageSize: page.top,
    ...(page.continuation === undefined ? {} : { continuationToken: page.continuation }),
  });
  const { value } = await pages.next();
  const entities = (value ?? []) as unknown[] & { continuationToken?: string };
  const rows = entities.map(toRow);
  return entities.continuationToken === undefined
    ? { rows }
    : { rows, continuation: entities.continuationToken };
}
