import { setImmediate as nextTurn } from 'node:timers/promises';
import { odata, RestError, TableClient, TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { keyDigest } from '../keys/clientKey';
import { readRow } from '../storage/tableRow';
import { mapLimit } from '../util/mapLimit';
import type { Package } from '../packages/package';
import { EntryLocation, KeyRecord, KeySource } from './location';

/**
 * Table layout of the symbolkeys table.
 *
 * PartitionKey = "{feed}_{first 2 hex digits of the key digest}": 256 partitions per feed. Enough
 * to spread a feed's load (Azure splits busy ranges of partitions on its own), few enough that a
 * package's keys share partitions and go in as transactions of up to 100 rows.
 *
 * Two kinds of row per key:
 * - candidates, RowKey = "{digest}_{source rank}_{order stamp}_{packageUid}", one per package
 *   offering the key, sorted so that the best comes first: explicit (0) before derived (1) before
 *   fetched from an upstream (2), then the earliest first-indexed package;
 * - the winner, RowKey = "{digest}": a copy of the best candidate, so that serving is one point
 *   read whatever the size of the feed.
 *
 * A small file's data, as its package's zip holds it, is a property of its rows (`inline`, up to
 * SYMFEED_INLINE_FILE_BYTES): the point read then brings the file itself. Candidates carry it too,
 * since a delete copies the next candidate into the winner row.
 *
 * Keeping the winner right under concurrent indexers and deleters: every change to a key's
 * candidates is followed by a write of its winner row conditional on the ETag read *after* that
 * change (a create if there was none). Of two writers racing, the later one's condition fails
 * and it reads again, now seeing the other's candidate. A writer whose candidate does not win
 * still rewrites the winner as it is, so that a deleter choosing a successor from an older set
 * of candidates is made to look again.
 */
const PARTITION_DIGITS = 2;
const ROWS_PER_TRANSACTION = 100;
/**
 * A transaction takes 4 MiB of payload; inline data goes as base64 in it. A margin is left for
 * the multipart framing and headers around each operation.
 */
const TRANSACTION_BYTES = 3 * 1024 ** 2;
/** A key's candidate and its winner go in the same transaction. */
const KEYS_PER_TRANSACTION = ROWS_PER_TRANSACTION / 2;
const TRANSACTION_CONCURRENCY = 8;
const ROW_CONCURRENCY = 32;
/** Refusals of one group's transaction before its remaining keys take the slow path together. */
const CONFLICTS_PER_TRANSACTION = 3;
const WINNER_ATTEMPTS = 10;

/** The package a key row belongs to; when it was first indexed fixes its precedence for good. */
export type KeyRowOwner = Pick<Package, 'feed' | 'packageUid' | 'firstIndexedAt'>;

export interface KeyRowRef {
  readonly key: string;
  readonly source: KeySource;
}

/** A package offering a key: which one, in which blob, by which kind of offer. */
export interface KeyHolder {
  readonly packageUid: string;
  readonly blob: string;
  readonly source: KeySource;
}

/** A key of this package that another package's file answers instead. */
export interface LostKey {
  readonly key: string;
  readonly source: KeySource;
  readonly winner: KeyHolder;
}

/** A key this package now serves in place of another package, which still offers it. */
export interface TakenKey {
  readonly key: string;
  readonly source: KeySource;
  readonly from: KeyHolder;
  /** Further packages offering the key, served until now by `from` and now by this package. */
  readonly others: readonly KeyHolder[];
}

export interface KeyWrites {
  readonly lost: readonly LostKey[];
  readonly taken: readonly TakenKey[];
}

/** A key some package still offers after this package's rows for it went. */
export interface KeyRemoval {
  readonly key: string;
  /** The package serving the key now. */
  readonly winner: KeyHolder;
  /** True when the removed package was serving it: `winner` took over from it. */
  readonly handedOver: boolean;
  /** When handed over: further packages offering the key, now served by `winner`. */
  readonly others: readonly KeyHolder[];
}

function partitionKey(feed: string, digest: string): string {
  return `${feed}_${digest.slice(0, PARTITION_DIGITS)}`;
}

const SOURCE_RANK: Record<KeySource, string> = { explicit: '0', derived: '1', upstream: '2' };

function candidateRowKey(digest: string, source: KeySource, owner: KeyRowOwner): string {
  const stamp = owner.firstIndexedAt.toString().padStart(15, '0');
  return `${digest}_${SOURCE_RANK[source]}_${stamp}_${owner.packageUid}`;
}

/**
 * The location is one JSON property rather than nine: storage parses, indexes and serialises
 * every property of every row, and writing rows is most of what indexing costs.
 */
const rowSchema = z.object({
  key: z.string(),
  source: z.enum(['explicit', 'derived', 'upstream']),
  packageUid: z.string(),
  location: z.string(),
  /** Absent on rows of larger files and on rows written before it existed. */
  inline: z.custom<Uint8Array>((value) => value instanceof Uint8Array).optional(),
});
type Row = z.infer<typeof rowSchema>;
/** The properties of a row that storage holds as Edm.Binary. */
const BINARY_PROPERTIES = ['inline'];

const locationSchema = z.object({
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

function locationOf(row: Row): EntryLocation {
  return locationSchema.parse(JSON.parse(row.location));
}

function holderOf(row: Row): KeyHolder {
  return { packageUid: row.packageUid, blob: locationOf(row).blob, source: row.source };
}

/** The packages behind candidates, each once, leaving out those `except` names. */
function holdersOf(candidates: readonly Candidate[], except: readonly string[]): KeyHolder[] {
  const seen = new Set(except);
  const holders: KeyHolder[] = [];
  for (const { row } of candidates) {
    if (seen.has(row.packageUid)) continue;
    seen.add(row.packageUid);
    holders.push(holderOf(row));
  }
  return holders;
}

const winnerSchema = rowSchema.extend({
  partitionKey: z.string(),
  rowKey: z.string(),
  candidate: z.string(),
  /** Absent on rows written before it existed: then another candidate may exist. */
  shared: z.boolean().default(true),
  etag: z.string(),
});
type WinnerRow = z.infer<typeof winnerSchema>;

interface Candidate {
  readonly partitionKey: string;
  readonly digest: string;
  readonly rowKey: string;
  readonly row: Row;
}

function candidateOf(
  owner: KeyRowOwner,
  { key, source, location }: KeyRecord,
  inline: Buffer | undefined,
): Candidate {
  const digest = keyDigest(key);
  const row: Row = {
    key,
    source,
    packageUid: location.packageUid,
    location: JSON.stringify(location),
  };
  return {
    partitionKey: partitionKey(owner.feed, digest),
    digest,
    rowKey: candidateRowKey(digest, source, owner),
    row: inline ? { ...row, inline } : row,
  };
}

/**
 * What an entity adds to a transaction's payload, at most: strings as UTF-8 (up to 3 bytes a
 * UTF-16 unit), binary as base64, and room for the names, types and the operation's framing.
 */
function payloadBytes(entity: object): number {
  let bytes = 1024;
  for (const value of Object.values(entity)) {
    if (typeof value === 'string') bytes += 3 * value.length;
    else if (value instanceof Uint8Array) bytes += 4 * Math.ceil(value.length / 3);
    else bytes += 64;
  }
  return bytes;
}

function candidateEntity(candidate: Candidate) {
  return { partitionKey: candidate.partitionKey, rowKey: candidate.rowKey, ...candidate.row };
}

/**
 * `shared`: another candidate may exist. False only where the writer knew of none, so that the
 * delete of a key only one package offers needs no range read to look for a successor.
 */
function winnerEntity(candidate: Candidate, shared: boolean) {
  return {
    partitionKey: candidate.partitionKey,
    rowKey: candidate.digest,
    candidate: candidate.rowKey,
    shared,
    ...candidate.row,
  };
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/**
 * Writes this package's rows for its keys, and makes each key's winner the best of its candidates.
 * Rewriting the same keys for the same package replaces them in place. Returns the keys another
 * package wins, and those this package took over from another.
 */
export async function writeKeyRows(
  table: TableClient,
  owner: KeyRowOwner,
  records: readonly KeyRecord[],
  /** Small entries' data as the zip holds it, by data offset (see analysePackage). */
  inline?: ReadonlyMap<number, Buffer>,
): Promise<KeyWrites> {
  // A key offered twice by one package would have a transaction touch its rows twice, which
  // fails it as a whole: the second offer takes the slow path.
  const contested: Candidate[] = [];
  const once = new Map<string, Candidate>();
  for (const [index, record] of records.entries()) {
    // Hashing 55,000 keys held the event loop for 0.2-0.5 s: serving goes on every 1,000.
    if (index % 1_000 === 999) await nextTurn();
    const candidate = candidateOf(owner, record, inline?.get(record.location.dataOffset));
    if (once.has(candidate.digest)) contested.push(candidate);
    else once.set(candidate.digest, candidate);
  }
  // A key's candidate and its winner hold the same data.
  const transactions = transactionsOf(
    [...once.values()],
    KEYS_PER_TRANSACTION,
    (candidate) => 2 * payloadBytes(candidateEntity(candidate)),
  );
  await mapLimit(transactions, TRANSACTION_CONCURRENCY, async (group) => {
    contested.push(...(await writeUncontested(table, group)));
  });
  const lost: LostKey[] = [];
  const taken: TakenKey[] = [];
  await mapLimit(contested, ROW_CONCURRENCY, async (candidate) => {
    await table.upsertEntity(candidateEntity(candidate), 'Replace');
    let before: WinnerRow | undefined;
    const winner = await settleWinner(table, candidate, async (current) => {
      before = current;
      // Rewriting its own winning row (a new location, maybe) keeps what was known; a winner not
      // found while this key was contested may have candidates this writer does not know of.
      if (current?.candidate === candidate.rowKey) return winnerEntity(candidate, current.shared);
      if (current && current.candidate < candidate.rowKey) return { ...current, shared: true };
      return winnerEntity(candidate, true);
    });
    const { key, source } = candidate.row;
    if (winner && winner.packageUid !== owner.packageUid) {
      lost.push({ key, source, winner: holderOf(winner) });
    } else if (before && before.packageUid !== owner.packageUid) {
      // Rare (an explicit mapping arriving for a derived key, an earlier package re-indexed):
      // one range read finds the packages the previous winner served in their place.
      const { candidates } = await readKeyRows(table, { ...candidate, key });
      const others = holdersOf(candidates, [owner.packageUid, before.packageUid]);
      taken.push({ key, source, from: holderOf(before), others });
    }
  });
  // In the package's own order, whatever order the transactions finished in.
  const order = new Map(records.map((record, index) => [record.key, index]));
  const byOrder = (a: { key: string }, b: { key: string }) =>
    (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0);
  return { lost: lost.sort(byOrder), taken: taken.sort(byOrder) };
}

/**
 * Items grouped by partition, as many per group as one transaction takes: at most `size` of them,
 * and at most TRANSACTION_BYTES of payload by `bytes`, though never fewer than one.
 */
export function transactionsOf<T extends { partitionKey: string }>(
  items: readonly T[],
  size: number,
  bytes: (item: T) => number,
): T[][] {
  const byPartition = new Map<string, T[]>();
  for (const item of items) {
    const group = byPartition.get(item.partitionKey);
    if (group) group.push(item);
    else byPartition.set(item.partitionKey, [item]);
  }
  const transactions: T[][] = [];
  for (const group of byPartition.values()) {
    let current: T[] = [];
    let payload = 0;
    for (const item of group) {
      const weight = bytes(item);
      if (
        current.length + 1 > size ||
        (current.length > 0 && payload + weight > TRANSACTION_BYTES)
      ) {
        transactions.push(current);
        current = [];
        payload = 0;
      }
      current.push(item);
      payload += weight;
    }
    transactions.push(current);
  }
  return transactions;
}

/**
 * The common case, keys no other package offers: each candidate and a new winner row pointing at
 * it, in one transaction. Creating a winner fails where a key already has one; the transaction
 * then changes nothing, and the keys that have a winner are returned to take the slow path while
 * the rest try again together. The first conflict is found from the operation storage names;
 * later ones, or one whose operation storage does not name, by reading the keys' winner rows.
 */
async function writeUncontested(table: TableClient, group: Candidate[]): Promise<Candidate[]> {
  const contested: Candidate[] = [];
  let pending = group;
  for (let conflicts = 0; pending.length > 0; conflicts++) {
    if (conflicts === CONFLICTS_PER_TRANSACTION) return [...contested, ...pending];
    const actions = pending.flatMap((candidate): TransactionAction[] => [
      ['upsert', candidateEntity(candidate), 'Replace'],
      // Creating it succeeds only where the key has no winner row, and so no other candidate.
      ['create', winnerEntity(candidate, false)],
    ]);
    try {
      await table.submitTransaction(actions);
      return contested;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const failed = conflicts === 0 ? failedOperation(error) : undefined;
      // Candidate upserts cannot conflict: a named operation is a winner's create.
      const named =
        failed !== undefined && failed % 2 === 1 ? pending[(failed - 1) / 2] : undefined;
      const taken = named
        ? [named]
        : await filterLimit(pending, ROW_CONCURRENCY, async (candidate) =>
            Boolean(await readWinner(table, candidate.partitionKey, candidate.digest)),
          );
      contested.push(...taken);
      pending = pending.filter((candidate) => !taken.includes(candidate));
    }
  }
  return contested;
}

/**
 * The index of the operation that failed a transaction, as the service states it in its error
 * (`{"odata.error":{"message":{"value":"1:The specified entity already exists..."}}}`), or
 * undefined when it states none in that form.
 */
function failedOperation(error: unknown): number | undefined {
  if (!(error instanceof RestError)) return undefined;
  const body = /\{.*\}/s.exec(error.response?.bodyAsText ?? '')?.[0];
  if (body === undefined) return undefined;
  try {
    const parsed = odataErrorSchema.safeParse(JSON.parse(body));
    const index = parsed.success
      ? /^(\d+):/.exec(parsed.data['odata.error'].message.value)?.[1]
      : undefined;
    return index === undefined ? undefined : Number(index);
  } catch {
    return undefined;
  }
}

const odataErrorSchema = z.object({
  'odata.error': z.object({ message: z.object({ value: z.string() }) }),
});

async function filterLimit<T>(
  items: readonly T[],
  limit: number,
  keep: (item: T) => Promise<boolean>,
): Promise<T[]> {
  const kept = await mapLimit(items, limit, keep);
  return items.filter((_, index) => kept[index]);
}

type WinnerEntity = ReturnType<typeof winnerEntity>;

/**
 * What a key's winner row may hold instead of a winner: the key was removed and nothing serves
 * it. Its remover deletes it next; anyone who finds one treats the key as having no winner.
 */
function tombstoneEntity(where: { partitionKey: string; digest: string }) {
  return { partitionKey: where.partitionKey, rowKey: where.digest, candidate: '' };
}

/** A winner row as read: `live` unless it is a tombstone. */
interface WinnerRead {
  readonly etag: string;
  readonly live: WinnerRow | undefined;
}

function winnerRead(entity: { etag: string; candidate?: unknown }): WinnerRead {
  return { etag: entity.etag, live: entity.candidate ? winnerSchema.parse(entity) : undefined };
}

/**
 * Reads a key's winner row and writes what `choose` makes of it, conditional on what was read,
 * until no other writer came in between. Returns the winner left in place.
 */
async function settleWinner(
  table: TableClient,
  where: { partitionKey: string; digest: string },
  choose: (current: WinnerRow | undefined) => Promise<WinnerEntity | WinnerRow | undefined>,
): Promise<Row | undefined> {
  for (let attempt = 0; attempt < WINNER_ATTEMPTS; attempt++) {
    const read = await readWinner(table, where.partitionKey, where.digest);
    const next = await choose(read?.live);
    try {
      if (!read) {
        if (next) await table.createEntity(next);
      } else if (next) {
        const { etag: _etag, ...entity } = next as WinnerRow;
        await table.updateEntity(entity, 'Replace', { etag: read.etag });
      } else {
        await table.deleteEntity(where.partitionKey, where.digest, { etag: read.etag });
      }
      return next;
    } catch (error) {
      if (!lostRace(error)) throw error;
    }
  }
  throw new Error(
    `the winner row of key digest ${where.digest} kept changing under ${WINNER_ATTEMPTS} attempts`,
  );
}

/** Another writer changed the row between this one's read and write. */
function lostRace(error: unknown): boolean {
  const status = statusOf(error);
  return status === 409 || status === 412 || status === 404;
}

/**
 * A key's winner row, through the table SDK: for writers, whose conditional writes go through it
 * too.
 */
async function readWinner(
  table: TableClient,
  partition: string,
  digest: string,
): Promise<WinnerRead | undefined> {
  try {
    return winnerRead(await table.getEntity(partition, digest));
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * A key's winner row for serving: one plain point read, on the path of every cold symbol
 * (tableRow.ts).
 */
async function servingWinner(
  table: TableClient,
  partition: string,
  digest: string,
): Promise<WinnerRead | undefined> {
  const row = await readRow(table, partition, digest, BINARY_PROPERTIES);
  return row && winnerRead(row);
}

/** Every row of one key: its winner row (if any) and its candidates, best first. One range read. */
interface KeyRows {
  readonly winner: WinnerRead | undefined;
  readonly candidates: readonly Candidate[];
}

async function readKeyRows(
  table: TableClient,
  where: { partitionKey: string; digest: string; key: string },
): Promise<KeyRows> {
  const { partitionKey: partition, digest, key } = where;
  // The winner row's RowKey is the digest itself, so it sorts just before its candidates.
  const rows = table.listEntities({
    queryOptions: {
      filter: odata`PartitionKey eq ${partition} and RowKey ge ${digest} and RowKey lt ${`${digest}~`}`,
    },
  });
  let winner: WinnerRead | undefined;
  const candidates: Candidate[] = [];
  for await (const entity of rows) {
    if (entity.rowKey === digest) {
      winner = winnerRead(entity as typeof entity & { etag: string });
      continue;
    }
    const row = rowSchema.parse(entity);
    // The digest is 160 bits; comparing the key itself makes a collision harmless anyway.
    if (row.key === key) {
      candidates.push({ partitionKey: partition, digest, rowKey: entity.rowKey ?? '', row });
    }
  }
  return { winner, candidates };
}

/** One key's rows of this package that a delete removes. */
interface Removal {
  readonly key: string;
  readonly digest: string;
  readonly partitionKey: string;
  readonly rowKeys: ReadonlySet<string>;
}

/** What removing a key's rows does: the operations of one transaction, and what follows it. */
interface RemovalPlan {
  readonly removal: Removal;
  readonly actions: TransactionAction[];
  /** The winner row becomes a tombstone, to be deleted once the transaction is in. */
  readonly tombstone: boolean;
  /** A tombstone found with nothing else left of the key, to be deleted. */
  readonly leftover?: string;
  /** What the removal leaves, once it has gone in. */
  readonly outcome?: KeyRemoval;
}

/**
 * The removal of a key's rows as one transaction. The winner row is always rewritten, on the
 * condition that it is as read: moved to the best other candidate when one of the removed rows
 * won (or to a tombstone when none is left), and rewritten as it is otherwise, so that a writer
 * or deleter that chose a winner from an older set of candidates is made to look again. The
 * candidate's removal and the winner's rewrite land together or not at all.
 *
 * From the winner row alone where it tells enough (undefined where it does not): the package's
 * rows are there when the winner names one of them or another package's (they are written
 * before the winner), and there is no successor to look for when the winner is not shared.
 */
function planFromWinner(removal: Removal, winner: WinnerRead | undefined): RemovalPlan | undefined {
  const current = winner?.live;
  if (!winner || !current || current.key !== removal.key) return undefined;
  const won = removal.rowKeys.has(current.candidate);
  if (won && current.shared) return undefined;
  const actions: TransactionAction[] = [...removal.rowKeys].map((rowKey) => [
    'delete',
    { partitionKey: removal.partitionKey, rowKey },
  ]);
  const { etag: _etag, ...entity } = current;
  const condition = { etag: winner.etag };
  actions.push(['update', won ? tombstoneEntity(removal) : entity, 'Replace', condition]);
  if (won) return { removal, actions, tombstone: true };
  const outcome = { key: removal.key, winner: holderOf(current), handedOver: false, others: [] };
  return { removal, actions, tombstone: false, outcome };
}

/** The removal of a key's rows from all of them (see planFromWinner). */
function planRemoval(removal: Removal, rows: KeyRows): RemovalPlan {
  const own = rows.candidates.filter((candidate) => removal.rowKeys.has(candidate.rowKey));
  const actions: TransactionAction[] = own.map((candidate) => [
    'delete',
    { partitionKey: candidate.partitionKey, rowKey: candidate.rowKey },
  ]);
  const { winner } = rows;
  const plan = { removal, actions, tombstone: false };
  if (!winner) return plan;
  const current = winner.live;
  if (current && current.key !== removal.key) return plan;
  const condition = { etag: winner.etag };
  if (current && !removal.rowKeys.has(current.candidate)) {
    if (own.length === 0) return plan;
    const { etag: _etag, ...entity } = current;
    actions.push(['update', entity, 'Replace', condition]);
    const outcome = { key: removal.key, winner: holderOf(current), handedOver: false, others: [] };
    return { ...plan, outcome };
  }
  const others = rows.candidates.filter((candidate) => !removal.rowKeys.has(candidate.rowKey));
  const [next] = others;
  if (next) {
    actions.push(['update', winnerEntity(next, others.length > 1), 'Replace', condition]);
    const outcome = {
      key: removal.key,
      winner: holderOf(next.row),
      handedOver: true,
      others: holdersOf(others, [next.row.packageUid]),
    };
    return { ...plan, outcome };
  }
  if (!current && own.length === 0) return { ...plan, leftover: winner.etag };
  actions.push(['update', tombstoneEntity(removal), 'Replace', condition]);
  return { ...plan, tombstone: true };
}

/** Deletes a tombstone unless a writer has made the key its own since. */
async function deleteTombstone(table: TableClient, removal: Removal, etag: string) {
  try {
    await table.deleteEntity(removal.partitionKey, removal.digest, { etag });
  } catch (error) {
    if (!lostRace(error)) throw error;
  }
}

/** A tombstone to delete once its transaction is in; without an ETag, it is read first. */
interface Tombstone {
  readonly removal: Removal;
  readonly etag: string | undefined;
}

/**
 * Runs the plans of one partition as one transaction. Undefined when a row changed since it was
 * read; else the tombstones to delete next.
 */
async function submitRemovals(
  table: TableClient,
  plans: readonly RemovalPlan[],
): Promise<Tombstone[] | undefined> {
  const actions = plans.flatMap((plan) => plan.actions);
  let etags: (string | undefined)[] = [];
  if (actions.length > 0) {
    try {
      const response = await table.submitTransaction(actions);
      etags = response.subResponses.map((sub) => sub.etag);
    } catch (error) {
      if (lostRace(error)) return undefined;
      throw error;
    }
  }
  const tombstones: Tombstone[] = [];
  let at = 0;
  for (const plan of plans) {
    at += plan.actions.length;
    // The tombstone's write is its plan's last operation.
    if (plan.tombstone) tombstones.push({ removal: plan.removal, etag: etags[at - 1] });
    else if (plan.leftover !== undefined)
      tombstones.push({ removal: plan.removal, etag: plan.leftover });
  }
  return tombstones;
}

async function deleteTombstones(table: TableClient, tombstones: readonly Tombstone[]) {
  await mapLimit(tombstones, ROW_CONCURRENCY, async ({ removal, etag }) => {
    // Without the ETag of the transaction's write, the row is read: still a tombstone, it goes.
    const read =
      etag === undefined
        ? await readWinner(table, removal.partitionKey, removal.digest)
        : undefined;
    const current = etag ?? (read && !read.live ? read.etag : undefined);
    if (current !== undefined) await deleteTombstone(table, removal, current);
  });
}

/** Keys whose rows are read and removed together, so that reads and writes stay close in time. */
const REMOVAL_WINDOW = 2_000;
/** Operations one key's removal may take: two candidates (explicit and derived) and the winner. */
const MAX_REMOVAL_ACTIONS = 3;

/**
 * Removes exactly the given rows of this package (rows already gone are fine), and hands each
 * key it won to the next candidate, or removes the key when none is left. Each key costs a point
 * read of its winner row, and a range read where another package may offer it; the changes go
 * in per-partition transactions, and the keys of a transaction refused because a row changed
 * (or was gone already: a delete running again) are done again one by one from a range read.
 */
export async function deleteKeyRows(
  table: TableClient,
  owner: KeyRowOwner,
  refs: readonly KeyRowRef[],
): Promise<KeyRemoval[]> {
  const byKey = new Map<string, Removal & { rowKeys: Set<string> }>();
  for (const { key, source } of refs) {
    const digest = keyDigest(key);
    const rowKey = candidateRowKey(digest, source, owner);
    const known = byKey.get(key);
    if (known) known.rowKeys.add(rowKey);
    else {
      const partition = partitionKey(owner.feed, digest);
      byKey.set(key, { key, digest, partitionKey: partition, rowKeys: new Set([rowKey]) });
    }
  }
  const removals = [...byKey.values()];
  const outcomes: KeyRemoval[] = [];
  const done = (plan: RemovalPlan) => {
    if (plan.outcome) outcomes.push(plan.outcome);
  };
  for (let start = 0; start < removals.length; start += REMOVAL_WINDOW) {
    const window = removals.slice(start, start + REMOVAL_WINDOW);
    const plans = await mapLimit(window, ROW_CONCURRENCY, async (removal) => {
      const winner = await readWinner(table, removal.partitionKey, removal.digest);
      const plan =
        planFromWinner(removal, winner) ?? planRemoval(removal, await readKeyRows(table, removal));
      return { ...plan, partitionKey: removal.partitionKey };
    });
    const transactions = transactionsOf(plans, ROWS_PER_TRANSACTION / MAX_REMOVAL_ACTIONS, (plan) =>
      plan.actions.reduce((sum, [, entity]) => sum + payloadBytes(entity), 0),
    );
    // Tombstones go after the window's transactions, a bounded number at a time.
    const tombstones: Tombstone[] = [];
    await mapLimit(transactions, TRANSACTION_CONCURRENCY, async (group) => {
      const left = await submitRemovals(table, group);
      if (left) {
        tombstones.push(...left);
        group.forEach(done);
        return;
      }
      for (const plan of group) {
        const alone = await removeAlone(table, plan.removal);
        tombstones.push(...alone.tombstones);
        done(alone.plan);
      }
    });
    await deleteTombstones(table, tombstones);
  }
  return outcomes;
}

async function removeAlone(
  table: TableClient,
  removal: Removal,
): Promise<{ plan: RemovalPlan; tombstones: Tombstone[] }> {
  for (let attempt = 0; attempt < WINNER_ATTEMPTS; attempt++) {
    const plan = planRemoval(removal, await readKeyRows(table, removal));
    const tombstones = await submitRemovals(table, [plan]);
    if (tombstones) return { plan, tombstones };
  }
  throw new Error(
    `the rows of key digest ${removal.digest} kept changing under ${WINNER_ATTEMPTS} attempts`,
  );
}

/** Where a key's file lies, and for a small file its data as the zip holds it. */
export type FoundLocation = EntryLocation & {
  readonly source: KeySource;
  readonly inline?: Buffer;
};

function foundOf(row: Row): FoundLocation {
  const found = { ...locationOf(row), source: row.source };
  return row.inline ? { ...found, inline: Buffer.from(row.inline) } : found;
}

/**
 * The winning location of a normalised key in a feed: one point read. Packages `hidden` says
 * are on their way out are passed over for the best other candidate (one range read).
 */
export async function findLocation(
  table: TableClient,
  feed: string,
  key: string,
  hidden?: (packageUid: string) => boolean,
): Promise<FoundLocation | undefined> {
  const digest = keyDigest(key);
  const where = { partitionKey: partitionKey(feed, digest), digest, key };
  const winner = (await servingWinner(table, where.partitionKey, digest))?.live;
  if (!winner || winner.key !== key) return undefined;
  if (!hidden?.(winner.packageUid)) return foundOf(winner);
  const { candidates } = await readKeyRows(table, where);
  const next = candidates.find((candidate) => !hidden(candidate.row.packageUid));
  return next && foundOf(next.row);
}

/** A package offering a key, as "why is my symbol missing?" shows it. */
export interface KeyCandidate extends KeyHolder {
  readonly entry: string;
  /** When the package was first indexed (ms since the epoch): the earlier wins a tie. */
  readonly firstIndexedAt: number;
  /** Whether the winner row names it: the package this feed serves the key from. */
  readonly serving: boolean;
}

/**
 * Every package of a feed offering a key, best first (explicit before derived before upstream,
 * then the earliest first indexed), and which one serves it: one range read of the key's rows.
 */
export async function keyCandidates(
  table: TableClient,
  feed: string,
  key: string,
): Promise<KeyCandidate[]> {
  const digest = keyDigest(key);
  const { winner, candidates } = await readKeyRows(table, {
    partitionKey: partitionKey(feed, digest),
    digest,
    key,
  });
  return candidates.map(({ rowKey, row }) => ({
    ...holderOf(row),
    entry: locationOf(row).entry,
    firstIndexedAt: Number(rowKey.split('_')[2]),
    serving: winner?.live?.candidate === rowKey,
  }));
}
