import { listPackages } from '../packages/packageTable';
import { PackageState } from '../packages/states';
import { StorageClients } from '../storage/clients';
import { mapLimit } from '../util/mapLimit';
import { Subfeed } from '../nuget/subfeed';
import {
  byKey,
  countIn,
  IdSummary,
  ListingIndex,
  ListingsPorts,
  shows,
  StateSummary,
  summarise,
  visible,
  visibleVersions,
  Visibility,
} from './listingShapes';
import { pageOf, readIdListing, readIndex, readPage, rebuildListings } from './materialise';
import { idKey, inSubfeed, packageView, PackageView } from './packageView';

/** What listings read: the materialised listings, and the table to build them from. */
export type ListingStorage = Pick<
  StorageClients,
  'packagesTable' | 'listingsContainer' | 'listingsMemory'
>;

/** Pages read at once by a search that must look at every page (a term inside ids). */
const PAGE_READS = 8;

function portsOf(storage: ListingStorage): ListingsPorts {
  return { container: storage.listingsContainer, memory: storage.listingsMemory };
}

/**
 * Every package of a subfeed, from the table: for listings the materialised ones do not answer
 * (an `own` subfeed, a v2 query of any other shape), ordered by id then upload.
 */
export async function scanSubfeed(
  storage: ListingStorage,
  subfeed: Subfeed,
  owner?: string,
): Promise<PackageView[]> {
  const rows = await listPackages(
    storage.packagesTable,
    subfeed.feed,
    subfeed.state === 'original' ? undefined : subfeed.state,
  );
  return rows
    .map(packageView)
    .filter((view) => inSubfeed(view, subfeed, owner))
    .sort(
      (a, b) => idKey(a.id).localeCompare(idKey(b.id)) || a.uploadedAt.localeCompare(b.uploadedAt),
    );
}

/** Writes a feed's listings whole from its package table (see rebuildListings). */
export async function rebuildFeedListings(
  storage: ListingStorage,
  feed: string,
): Promise<{ ids: number; pages: number }> {
  return rebuildListings(portsOf(storage), feed, await listPackages(storage.packagesTable, feed));
}

/** The feed's listing index, built from the table first when the feed has none yet. */
async function listingIndex(storage: ListingStorage, feed: string): Promise<ListingIndex> {
  const ports = portsOf(storage);
  const stored = await readIndex(ports, feed);
  if (stored) return stored.doc;
  await rebuildFeedListings(storage, feed);
  const built = await readIndex(ports, feed);
  if (!built) throw new Error(`the listings of feed ${feed} are missing after a rebuild`);
  return built.doc;
}

/** The uploads of one id a subfeed lists, oldest version first: one blob read. */
export async function idUploads(
  storage: ListingStorage,
  subfeed: Subfeed,
  owner: string | undefined,
  id: string,
): Promise<PackageView[]> {
  const ports = portsOf(storage);
  const key = idKey(id);
  let listing = await readIdListing(ports, subfeed.feed, key);
  // No listing of the id: either no such id, or no listings yet (then built, and read again).
  if (!listing && !(await readIndex(ports, subfeed.feed))) {
    await listingIndex(storage, subfeed.feed);
    listing = await readIdListing(ports, subfeed.feed, key);
  }
  return (listing?.doc.views ?? []).filter((view) => inSubfeed(view, subfeed, owner));
}

export interface IdQuery {
  /** Ids asked for exactly (`packageid:X`), as keys. */
  readonly exact: readonly string[];
  /** Terms each id must contain, lower case. */
  readonly terms: readonly string[];
  readonly seen: Visibility;
  readonly skip: number;
  readonly take: number;
}

export interface IdsFound {
  readonly total: number;
  /** The ids from skip to skip + take, in id order. */
  readonly ids: readonly StateSummary[];
}

function matches(query: IdQuery, key: string): boolean {
  return (
    query.exact.every((wanted) => wanted === key) && query.terms.every((term) => key.includes(term))
  );
}

/** Summaries of the ids a state subfeed shows, matching the query, in id order. */
function shown(ids: readonly IdSummary[], state: PackageState, query: IdQuery): StateSummary[] {
  return ids.flatMap(({ key, states }) => {
    const summary = states[state];
    return summary && shows(summary, query.seen) && matches(query, key) ? [summary] : [];
  });
}

/** The ids of `ids` (in id order) a state subfeed shows, matching the query, skip to take. */
export function selectIds(
  ids: readonly IdSummary[],
  state: PackageState,
  query: IdQuery,
): IdsFound {
  const summaries = shown(ids, state, query);
  return {
    total: summaries.length,
    ids: summaries.slice(query.skip, query.skip + query.take),
  };
}

/**
 * The ids of a subfeed a search or a latest-version listing shows, one summary each. Without
 * terms, the index's counts say which pages hold skip to skip + take, and only those are read;
 * an exact id reads its page; a term inside ids reads every page (a token index would bound it).
 * An `own` subfeed's ids are the caller's uploads, which only the table knows.
 */
export async function findIds(
  storage: ListingStorage,
  subfeed: Subfeed,
  owner: string | undefined,
  query: IdQuery,
): Promise<IdsFound> {
  if (subfeed.ownership === 'own') {
    const byId = new Map<string, PackageView[]>();
    for (const view of await scanSubfeed(storage, subfeed, owner)) {
      byId.set(idKey(view.id), [...(byId.get(idKey(view.id)) ?? []), view]);
    }
    const ids = [...byId].flatMap(([key, views]) => summarise(key, views) ?? []);
    return selectIds(ids.sort(byKey), subfeed.state, query);
  }
  const ports = portsOf(storage);
  const index = await listingIndex(storage, subfeed.feed);
  const [exact] = query.exact;
  if (exact !== undefined) {
    const page = await readPage(ports, subfeed.feed, pageOf(index, exact).name);
    return selectIds(page?.doc.ids ?? [], subfeed.state, query);
  }
  if (query.terms.length) {
    const pages = await mapLimit(index.pages, PAGE_READS, (ref) =>
      readPage(ports, subfeed.feed, ref.name),
    );
    return selectIds(
      pages.flatMap((page) => page?.doc.ids ?? []),
      subfeed.state,
      query,
    );
  }
  let total = 0;
  const wanted: { name: string; before: number }[] = [];
  for (const ref of index.pages) {
    const count = countIn(ref, subfeed.state, query.seen);
    if (count > 0 && total + count > query.skip && total < query.skip + query.take) {
      wanted.push({ name: ref.name, before: total });
    }
    total += count;
  }
  const pages = await Promise.all(wanted.map(({ name }) => readPage(ports, subfeed.feed, name)));
  const first = wanted[0]?.before ?? 0;
  const ids = pages
    .flatMap((page) => shown(page?.doc.ids ?? [], subfeed.state, query))
    .slice(query.skip - first, query.skip - first + query.take);
  return { total, ids };
}

/**
 * Every upload a subfeed lists to a client that sees `seen`, by id then version, from `skip`,
 * at most `take`, with the uploads of each id they touch: the index's version counts say which
 * pages hold the window, the pages which ids, and only those ids' listings are read.
 */
export async function findUploads(
  storage: ListingStorage,
  subfeed: Subfeed,
  seen: Visibility,
  skip: number,
  take: number,
): Promise<{ total: number; ids: { first: number; views: PackageView[] }[] }> {
  const ports = portsOf(storage);
  const index = await listingIndex(storage, subfeed.feed);
  let total = 0;
  const wanted: { name: string; before: number }[] = [];
  for (const ref of index.pages) {
    const count = countIn(ref, subfeed.state, seen, 'versions');
    if (count > 0 && total + count > skip && total < skip + take) {
      wanted.push({ name: ref.name, before: total });
    }
    total += count;
  }
  const pages = await Promise.all(wanted.map(({ name }) => readPage(ports, subfeed.feed, name)));
  const touched: { key: string; first: number }[] = [];
  let at = wanted[0]?.before ?? 0;
  for (const page of pages) {
    for (const { key, states } of page?.doc.ids ?? []) {
      const count = visibleVersions(states[subfeed.state], seen);
      if (count > 0 && at + count > skip && at < skip + take) touched.push({ key, first: at });
      at += count;
    }
  }
  const ids = await Promise.all(
    touched.map(async ({ key, first }) => ({
      first,
      views: (await idUploads(storage, subfeed, undefined, key)).filter((view) =>
        visible(view.version, seen),
      ),
    })),
  );
  return { total, ids };
}
