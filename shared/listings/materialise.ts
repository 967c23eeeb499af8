import { PackageRow } from '../packages/packageTable';
import { jitter, readJsonBlob, StoredJson, writeJsonBlob } from '../storage/jsonBlob';
import { mapLimit } from '../util/mapLimit';
import {
  byKey,
  countsOf,
  IdListing,
  idBlobName,
  IdPage,
  IdSummary,
  indexBlobName,
  ListingIndex,
  ListingsPorts,
  PAGE_IDS,
  pageBlobName,
  PageRef,
  summarise,
} from './listingShapes';
import { byVersion, idKey, packageView, PackageView } from './packageView';

/** Tries of one update when other writers keep winning; each loses to at most one write. */
const MAX_ATTEMPTS = 60;

/** Blob writes in flight while a rebuild writes a feed's listings. */
const REBUILD_CONCURRENCY = 16;

function blob(ports: ListingsPorts, name: string) {
  return ports.container.getBlockBlobClient(name);
}

/**
 * Readers' reads go through the process's memory (fresh within its bound); writers read storage
 * itself, since each writes over the version it read and a remembered one would lose every race.
 */
type Read = 'remembered' | 'fresh';

function readListing<T>(ports: ListingsPorts, name: string, read: Read) {
  const target = blob(ports, name);
  return read === 'remembered' ? ports.memory.read<T>(target) : readJsonBlob<T>(target);
}

/** Writes a listing blob, and forgets what the memory held of it, so this process sees it at once. */
async function writeListing(
  ports: ListingsPorts,
  name: string,
  doc: unknown,
  condition?: { etag: string } | 'new',
): Promise<boolean> {
  const target = blob(ports, name);
  try {
    return await writeJsonBlob(target, doc, condition);
  } finally {
    ports.memory.forget(target);
  }
}

export function readIndex(
  ports: ListingsPorts,
  feed: string,
  read: Read = 'remembered',
): Promise<StoredJson<ListingIndex> | undefined> {
  return readListing<ListingIndex>(ports, indexBlobName(feed), read);
}

export function readPage(
  ports: ListingsPorts,
  feed: string,
  name: string,
  read: Read = 'remembered',
) {
  return readListing<IdPage>(ports, pageBlobName(feed, name), read);
}

export function readIdListing(
  ports: ListingsPorts,
  feed: string,
  key: string,
  read: Read = 'remembered',
) {
  return readListing<IdListing>(ports, idBlobName(feed, key), read);
}

/** The page whose range holds the id: the last whose first id is not after it. */
export function pageOf(index: ListingIndex, key: string): PageRef {
  let found = index.pages[0] as PageRef;
  for (const ref of index.pages) if (ref.first <= key) found = ref;
  return found;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Reads, changes and writes a document over the version read, again while others win. */
async function update<T>(
  read: () => Promise<StoredJson<T> | undefined>,
  change: (doc: T | undefined) => T | undefined,
  write: (doc: T, etag: string | undefined) => Promise<boolean>,
  what: string,
): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const stored = await read();
    const next = change(stored?.doc);
    if (next === undefined || same(next, stored?.doc)) return;
    if (await write(next, stored?.etag)) return;
    await jitter(attempt);
  }
  throw new Error(`${what}: other writers kept changing it (${MAX_ATTEMPTS} tries)`);
}

function conditionOf(etag: string | undefined) {
  return etag === undefined ? ('new' as const) : { etag };
}

/** Files the package's upload under its id, or takes it off when `view` is undefined. */
async function updateIdListing(
  ports: ListingsPorts,
  feed: string,
  key: string,
  uid: string,
  view: PackageView | undefined,
): Promise<void> {
  await update<IdListing>(
    () => readIdListing(ports, feed, key, 'fresh'),
    (doc) => ({
      views: [
        ...(doc?.views ?? []).filter((other) => other.uid !== uid),
        ...(view ? [view] : []),
      ].sort(byVersion),
    }),
    (doc, etag) => writeListing(ports, idBlobName(feed, key), doc, conditionOf(etag)),
    `the listing of ${feed}/${key}`,
  );
}

function withSummary(ids: readonly IdSummary[], key: string, summary: IdSummary | undefined) {
  return [...ids.filter((other) => other.key !== key), ...(summary ? [summary] : [])].sort(byKey);
}

/**
 * Brings the id's entry in its index page to what its id listing holds now, then the page's
 * counts in the index. Each reads the container before what it summarises (the index before the
 * page, the page before the id listing) and writes over the version it read: a writer that
 * summarised an older id listing finds the page changed by the writer of the newer one, and
 * summarises again.
 */
async function updateIndexEntry(ports: ListingsPorts, feed: string, key: string): Promise<void> {
  const pageIds = ports.pageIds ?? PAGE_IDS;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const index = await readIndex(ports, feed, 'fresh');
    if (!index) return;
    const ref = pageOf(index.doc, key);
    const page = await readPage(ports, feed, ref.name, 'fresh');
    if (!page) throw new Error(`the listing page ${feed}/${ref.name} is missing`);
    if (page.doc.sealed) {
      await splitPage(ports, feed, ref, page.doc);
      continue;
    }
    const listing = await readIdListing(ports, feed, key, 'fresh');
    const ids = withSummary(page.doc.ids, key, summarise(key, listing?.doc.views ?? []));
    let current = page;
    if (!same(ids, page.doc.ids)) {
      const doc: IdPage = { ids };
      const written = await writeListing(ports, pageBlobName(feed, ref.name), doc, {
        etag: page.etag,
      });
      if (!written) {
        await jitter(attempt);
        continue;
      }
      const reread = await readPage(ports, feed, ref.name, 'fresh');
      if (!reread) continue;
      current = reread;
    }
    if (current.doc.ids.length > pageIds && !current.doc.sealed) {
      const sealed: IdPage = { sealed: true, ids: current.doc.ids };
      if (
        await writeListing(ports, pageBlobName(feed, ref.name), sealed, {
          etag: current.etag,
        })
      ) {
        await splitPage(ports, feed, ref, sealed);
      }
      continue;
    }
    if (await updateCounts(ports, feed, ref.name)) return;
  }
  throw new Error(`the listing index of ${feed}: other writers kept changing it`);
}

/**
 * Writes the page's counts into the index; false when the index no longer names the page (it
 * was split after this writer's change, which the caller then files again).
 */
async function updateCounts(ports: ListingsPorts, feed: string, name: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const index = await readIndex(ports, feed, 'fresh');
    const ref = index?.doc.pages.find((page) => page.name === name);
    if (!index || !ref) return false;
    const page = await readPage(ports, feed, name, 'fresh');
    if (!page || page.doc.sealed) return false;
    const counts = countsOf(page.doc.ids);
    if (same(counts, ref.counts)) return true;
    const doc: ListingIndex = {
      pages: index.doc.pages.map((other) => (other.name === name ? { ...other, counts } : other)),
    };
    if (await writeListing(ports, indexBlobName(feed), doc, { etag: index.etag })) {
      return true;
    }
    await jitter(attempt);
  }
  throw new Error(`the listing index of ${feed}: other writers kept changing it`);
}

/**
 * Splits a sealed page into two halves and names them in the index instead of it. A sealed page
 * no longer changes, so whoever finds it sealed may finish its split: the halves' names and
 * contents follow from it, and the index names them once.
 */
async function splitPage(
  ports: ListingsPorts,
  feed: string,
  ref: PageRef,
  page: IdPage,
): Promise<void> {
  const middle = Math.ceil(page.ids.length / 2);
  const halves = [page.ids.slice(0, middle), page.ids.slice(middle)].map((ids, half) => ({
    name: `${ref.name}-${half}`,
    first: half === 0 ? ref.first : (ids[0]?.key ?? ref.first),
    ids,
  }));
  await Promise.all(
    halves.map(({ name, ids }) =>
      writeListing(ports, pageBlobName(feed, name), { ids } satisfies IdPage),
    ),
  );
  await update<ListingIndex>(
    () => readIndex(ports, feed, 'fresh'),
    (index) =>
      index?.pages.some((other) => other.name === ref.name)
        ? {
            pages: index.pages.flatMap((other) =>
              other.name === ref.name
                ? halves.map(({ name, first, ids }) => ({ name, first, counts: countsOf(ids) }))
                : [other],
            ),
          }
        : undefined,
    (doc, etag) => writeListing(ports, indexBlobName(feed), doc, conditionOf(etag)),
    `the listing index of ${feed}`,
  );
}

/**
 * After a package row changed (`before` as it was, `after` as it is now; undefined where there
 * is none): files the upload under its id as it is now, off the id it was listed under before,
 * and brings the index pages of both ids up to date. Every step sets what the row says, so a
 * step run again, or after another writer's, leaves the same listings. A feed not yet
 * materialised is left alone: its first listing builds it from the table (rebuildListings).
 */
export async function packageChanged(
  ports: ListingsPorts,
  before: PackageRow | undefined,
  after: PackageRow | undefined,
): Promise<void> {
  const row = after ?? before;
  if (!row || !(await readIndex(ports, row.feed, 'fresh'))) return;
  const view = after && packageView(after);
  const keys = new Set(
    [before, after].flatMap((known) => (known ? [idKey(packageView(known).id)] : [])),
  );
  for (const key of keys) {
    const filed = view && idKey(view.id) === key ? view : undefined;
    await updateIdListing(ports, row.feed, key, row.packageUid, filed);
    await updateIndexEntry(ports, row.feed, key);
  }
}

/**
 * Writes a feed's listings whole from its package rows: every id listing, then new pages, then
 * the index that names them, so readers see the old listings or the new, never half. For a feed
 * deployed before listings were materialised, for a bulk seed, and for an operator
 * (`symfeed listings rebuild`). A package that changes while it runs is filed again by its own
 * writer only if the index already existed; run it again after such a change.
 */
export async function rebuildListings(
  ports: ListingsPorts,
  feed: string,
  rows: readonly PackageRow[],
): Promise<{ ids: number; pages: number }> {
  const byId = new Map<string, PackageView[]>();
  for (const row of rows) {
    const view = packageView(row);
    const key = idKey(view.id);
    byId.set(key, [...(byId.get(key) ?? []), view]);
  }
  const keys = [...byId.keys()].sort();
  await mapLimit(keys, REBUILD_CONCURRENCY, (key) =>
    writeListing(ports, idBlobName(feed, key), {
      views: (byId.get(key) ?? []).sort(byVersion),
    } satisfies IdListing),
  );
  const summaries = keys.flatMap((key) => summarise(key, byId.get(key) ?? []) ?? []);
  // Pages start half full, so the next ids added split none of them at once.
  const perPage = Math.max(1, Math.floor((ports.pageIds ?? PAGE_IDS) / 2));
  const stamp = `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const pages: PageRef[] = [];
  const chunks: { name: string; ids: IdSummary[] }[] = [];
  for (let start = 0; start === 0 || start < summaries.length; start += perPage) {
    const ids = summaries.slice(start, start + perPage);
    const name = `${stamp}-${chunks.length}`;
    chunks.push({ name, ids });
    pages.push({ name, first: start === 0 ? '' : (ids[0]?.key ?? ''), counts: countsOf(ids) });
  }
  await mapLimit(chunks, REBUILD_CONCURRENCY, ({ name, ids }) =>
    writeListing(ports, pageBlobName(feed, name), { ids } satisfies IdPage),
  );
  await writeListing(ports, indexBlobName(feed), { pages } satisfies ListingIndex);
  return { ids: keys.length, pages: pages.length };
}
