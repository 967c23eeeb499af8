import { randomUUID } from 'node:crypto';
import { ContainerClient } from '@azure/storage-blob';
import { jitter, readJsonBlob, StoredJson, writeJsonBlob } from '../storage/jsonBlob';
import {
  CatalogEvent,
  CatalogIndex,
  CatalogPage,
  catalogIndex,
  catalogLeaf,
  catalogPage,
  CatalogPageItem,
  Commit,
  eventKey,
  INDEX_PATH,
  indexItemOf,
  pageItem,
  pagePath,
} from './catalogShapes';

/** NuGet's own page size. */
export const PAGE_LIMIT = 550;

/** Tries of one append when other writers keep winning; each loses to at most one commit. */
const MAX_ATTEMPTS = 60;

export interface CatalogPorts {
  /** The `catalog` container. */
  readonly container: ContainerClient;
  /** Items a page holds before the next begins; a parameter so that tests roll pages over. */
  readonly pageLimit?: number;
}

function blobOf(container: ContainerClient, feed: string, path: string) {
  return container.getBlockBlobClient(`${feed}/${path}`);
}

export function readCatalogBlob<T>(
  container: ContainerClient,
  feed: string,
  path: string,
): Promise<StoredJson<T> | undefined> {
  return readJsonBlob<T>(blobOf(container, feed, path));
}

/** Writes a document; with `etag`, only over that version, with 'new' only where none is. */
function write(
  container: ContainerClient,
  feed: string,
  path: string,
  doc: unknown,
  condition?: { etag: string } | 'new',
): Promise<boolean> {
  return writeJsonBlob(blobOf(container, feed, path), doc, condition);
}

interface LastPage extends StoredJson<CatalogPage> {
  readonly number: number;
}

/**
 * The last page: the index's last, or a later one a writer created and has not yet entered in the
 * index (the page, not the index, is where an append commits).
 */
async function lastPage(
  container: ContainerClient,
  feed: string,
  index: CatalogIndex | undefined,
): Promise<LastPage | undefined> {
  let number = Math.max((index?.items.length ?? 0) - 1, 0);
  let found = await readCatalogBlob<CatalogPage>(container, feed, pagePath(number));
  if (!found) return undefined;
  for (;;) {
    const next = await readCatalogBlob<CatalogPage>(container, feed, pagePath(number + 1));
    if (!next) return { ...found, number };
    found = next;
    number += 1;
  }
}

/** A commit time after every commit of the catalog, and now at the earliest. */
function nextCommit(last: CatalogPage | undefined): Commit {
  const now = Date.now();
  const after = last ? Date.parse(last.commitTimeStamp) + 1 : 0;
  return { commitId: randomUUID(), commitTimeStamp: new Date(Math.max(now, after)).toISOString() };
}

/** The item an earlier append of the same event left in the last two pages, if any. */
async function earlierAppend(
  container: ContainerClient,
  feed: string,
  last: LastPage,
  key: string,
): Promise<CatalogPageItem | undefined> {
  const mine = (page: CatalogPage) => page.items.find((item) => item['symfeed:event'] === key);
  const inLast = mine(last.doc);
  if (inLast || last.number === 0) return inLast;
  const before = await readCatalogBlob<CatalogPage>(container, feed, pagePath(last.number - 1));
  return before && mine(before.doc);
}

/**
 * Appends one event to the feed's catalog as a commit of its own. Writers race safely: the leaf
 * goes first (under a name no other commit has), then the item joins the last page by a write
 * conditional on the page as read (or a new page, written only where none is), then the index
 * follows the pages. A writer that loses a race reads again after a short random wait.
 * Idempotent: an event whose item is in the last two pages is not appended again; its leaf and
 * the index are written again, which finishes what a crashed append began.
 */
export async function appendCatalog(
  { container, pageLimit = PAGE_LIMIT }: CatalogPorts,
  feed: string,
  event: CatalogEvent,
): Promise<CatalogPageItem> {
  const key = eventKey(event);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const index = await readCatalogBlob<CatalogIndex>(container, feed, INDEX_PATH);
    const last = await lastPage(container, feed, index?.doc);
    const earlier = last && (await earlierAppend(container, feed, last, key));
    if (earlier) {
      await writeLeaf(container, feed, event, earlier);
      await syncIndex(container, feed);
      return earlier;
    }
    const item = pageItem(event, nextCommit(last?.doc));
    await writeLeaf(container, feed, event, item);
    const committed =
      !last || last.doc.count >= pageLimit
        ? await write(
            container,
            feed,
            pagePath(last ? last.number + 1 : 0),
            catalogPage(last ? last.number + 1 : 0, [item]),
            'new',
          )
        : await write(
            container,
            feed,
            pagePath(last.number),
            catalogPage(last.number, [...last.doc.items, item]),
            { etag: last.etag },
          );
    if (committed) {
      await syncIndex(container, feed);
      return item;
    }
    await jitter(attempt);
  }
  throw new Error(
    `the catalog of feed "${feed}" changed under ${MAX_ATTEMPTS} appends in a row; the event's next try appends it`,
  );
}

async function writeLeaf(
  container: ContainerClient,
  feed: string,
  event: CatalogEvent,
  item: CatalogPageItem,
): Promise<void> {
  await write(container, feed, item['@id'], catalogLeaf(event, item));
}

/**
 * Brings the index up to the pages: its last page and any after it. A write conditional on the
 * index as read; the last writer read the pages after every commit it follows, so the index ends
 * up covering every committed item.
 */
export async function syncIndex(container: ContainerClient, feed: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const index = await readCatalogBlob<CatalogIndex>(container, feed, INDEX_PATH);
    const kept = index?.doc.items.slice(0, -1) ?? [];
    const pages = [];
    for (let number = kept.length; ; number++) {
      const page = await readCatalogBlob<CatalogPage>(container, feed, pagePath(number));
      if (!page) break;
      pages.push(indexItemOf(page.doc));
    }
    const items = [...kept, ...pages];
    if (index && JSON.stringify(items) === JSON.stringify(index.doc.items)) return;
    if (items.length === 0) return;
    const condition = index ? { etag: index.etag } : ('new' as const);
    if (await write(container, feed, INDEX_PATH, catalogIndex(items), condition)) return;
    await jitter(attempt);
  }
  throw new Error(
    `the catalog index of feed "${feed}" changed under ${MAX_ATTEMPTS} updates in a row`,
  );
}

/** Every item of the feed's catalog, in commit order: for rebuilds and tests. */
export async function catalogItems(
  container: ContainerClient,
  feed: string,
): Promise<CatalogPageItem[]> {
  const items: CatalogPageItem[] = [];
  for (let number = 0; ; number++) {
    const page = await readCatalogBlob<CatalogPage>(container, feed, pagePath(number));
    if (!page) return items;
    items.push(...page.doc.items);
  }
}
