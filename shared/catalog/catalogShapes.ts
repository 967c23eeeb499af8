import { createHash } from 'node:crypto';
import { z } from 'zod';
import { uploadVersion } from '../listings/packageView';
import { Package } from '../packages/package';
import { PackageState } from '../packages/states';

/**
 * The documents of a feed's catalog, in NuGet's Catalog/3.0.0 shape. They are stored with `@id`
 * and `parent` relative to the feed's catalog root (`index.json`, `page0.json`, `data/...`) and
 * made absolute when served, so that they follow SYMFEED_PUBLIC_URL and the request's feed segment.
 */

/** One package event: indexed to a final state, or deleted. */
export interface CatalogEvent {
  readonly packageUid: string;
  readonly id: string;
  /** The version the package lists as (uploadVersion): one per upload. */
  readonly version: string;
  readonly state: PackageState;
  readonly blobEtag: string;
  readonly keyCount: number;
  /** The package blob's SHA-512, base64; deletes carry none. */
  readonly packageHash?: string;
  readonly packageSize: number;
}

/** The event of a package that reached `state`, as listings show it. */
export function catalogEventOf(
  pkg: Pick<Package, 'packageUid' | 'id' | 'name' | 'version' | 'uploadedAt' | 'blobEtag' | 'size'>,
  state: PackageState,
  keyCount: number,
  packageHash?: string,
): CatalogEvent {
  return {
    packageUid: pkg.packageUid,
    id: pkg.id || pkg.name,
    version: uploadVersion(pkg.version, pkg.uploadedAt, pkg.packageUid),
    state,
    blobEtag: pkg.blobEtag,
    keyCount,
    ...(packageHash === undefined ? {} : { packageHash }),
    packageSize: pkg.size,
  };
}

/**
 * What makes a retried append of the same event find the first one: the package, the state it
 * reached and the content it reached it with.
 */
export function eventKey(event: CatalogEvent): string {
  return createHash('sha256')
    .update(`${event.packageUid}\n${event.state}\n${event.blobEtag}`)
    .digest('hex')
    .slice(0, 32);
}

export interface Commit {
  readonly commitId: string;
  /** ISO 8601 to the millisecond; strictly increasing along the catalog. */
  readonly commitTimeStamp: string;
}

export interface CatalogPageItem {
  readonly '@id': string;
  readonly '@type': 'nuget:PackageDetails' | 'nuget:PackageDelete';
  readonly commitId: string;
  readonly commitTimeStamp: string;
  readonly 'nuget:id': string;
  readonly 'nuget:version': string;
  readonly 'symfeed:packageUid': string;
  readonly 'symfeed:event': string;
}

export interface CatalogPage {
  readonly '@id': string;
  readonly '@type': 'CatalogPage';
  readonly commitId: string;
  readonly commitTimeStamp: string;
  readonly count: number;
  readonly items: readonly CatalogPageItem[];
  readonly parent: string;
}

export interface CatalogIndexItem {
  readonly '@id': string;
  readonly '@type': 'CatalogPage';
  readonly commitId: string;
  readonly commitTimeStamp: string;
  readonly count: number;
}

export interface CatalogIndex {
  readonly '@id': string;
  readonly '@type': ['CatalogRoot', 'AppendOnlyCatalog', 'Permalink'];
  readonly commitId: string;
  readonly commitTimeStamp: string;
  readonly count: number;
  readonly items: readonly CatalogIndexItem[];
}

export const INDEX_PATH = 'index.json';

export function pagePath(page: number): string {
  return `page${page}.json`;
}

/** `data/2026.11.30.20.55.01.123/{uid}.json`, as nuget.org names leaves by commit time. */
export function leafPath(commitTimeStamp: string, packageUid: string): string {
  const stamp = commitTimeStamp.replace(/Z$/, '').replace(/[-:T]/g, '.');
  return `data/${stamp}/${packageUid}.json`;
}

/**
 * `content/{uid}.nupkg`: the package as uploaded, for whoever reads the catalog (the catalog is
 * how a mirror replicates the feed, so its readers download what it lists).
 */
export function contentPath(packageUid: string): string {
  return `content/${packageUid}.nupkg`;
}

function isDelete(event: CatalogEvent): boolean {
  return event.state === 'deleted';
}

export function pageItem(event: CatalogEvent, commit: Commit): CatalogPageItem {
  return {
    '@id': leafPath(commit.commitTimeStamp, event.packageUid),
    '@type': isDelete(event) ? 'nuget:PackageDelete' : 'nuget:PackageDetails',
    ...commit,
    'nuget:id': event.id,
    'nuget:version': event.version,
    'symfeed:packageUid': event.packageUid,
    'symfeed:event': eventKey(event),
  };
}

/** The leaf: a snapshot of the package at its commit. `published` is the commit time. */
export function catalogLeaf(event: CatalogEvent, commit: Commit): Record<string, unknown> {
  const common = {
    '@id': leafPath(commit.commitTimeStamp, event.packageUid),
    'catalog:commitId': commit.commitId,
    'catalog:commitTimeStamp': commit.commitTimeStamp,
    id: event.id,
    version: event.version,
    published: commit.commitTimeStamp,
    'symfeed:packageUid': event.packageUid,
    'symfeed:state': event.state,
  };
  if (isDelete(event)) return { ...common, '@type': ['PackageDelete', 'catalog:Permalink'] };
  return {
    ...common,
    '@type': ['PackageDetails', 'catalog:Permalink'],
    packageHash: event.packageHash ?? '',
    packageHashAlgorithm: 'SHA512',
    packageSize: event.packageSize,
    'symfeed:keyCount': event.keyCount,
    'symfeed:packageContent': contentPath(event.packageUid),
  };
}

export function catalogPage(number: number, items: readonly CatalogPageItem[]): CatalogPage {
  const last = items[items.length - 1]!;
  return {
    '@id': pagePath(number),
    '@type': 'CatalogPage',
    commitId: last.commitId,
    commitTimeStamp: last.commitTimeStamp,
    count: items.length,
    items,
    parent: INDEX_PATH,
  };
}

export function catalogIndex(pages: readonly CatalogIndexItem[]): CatalogIndex {
  const last = pages[pages.length - 1];
  return {
    '@id': INDEX_PATH,
    '@type': ['CatalogRoot', 'AppendOnlyCatalog', 'Permalink'],
    commitId: last?.commitId ?? '',
    commitTimeStamp: last?.commitTimeStamp ?? new Date(0).toISOString(),
    count: pages.length,
    items: pages,
  };
}

export function indexItemOf(page: CatalogPage): CatalogIndexItem {
  const { commitId, commitTimeStamp, count } = page;
  return { '@id': page['@id'], '@type': 'CatalogPage', commitId, commitTimeStamp, count };
}

/** The documents a catalog has: names, never paths a caller chooses. */
export const catalogPathSchema = z
  .string()
  .regex(/^(index\.json|page\d{1,9}\.json|data\/[\d.]{23}\/[0-9a-f]{32}\.json)$/);

/** The package content a catalog links to: its uid, from the path the link names. */
export const catalogContentSchema = z
  .string()
  .regex(/^content\/[0-9a-f]{32}\.nupkg$/)
  .transform((path) => path.slice('content/'.length, -'.nupkg'.length));

/** The fields of catalog documents that hold links, stored relative to the catalog root. */
const LINKS = new Set(['@id', 'parent', 'symfeed:packageContent']);

/** A stored document with its relative links made absolute under `root`. */
export function withAbsoluteIds(document: unknown, root: string): unknown {
  if (Array.isArray(document)) return document.map((item) => withAbsoluteIds(item, root));
  if (document === null || typeof document !== 'object') return document;
  return Object.fromEntries(
    Object.entries(document).map(([name, value]) => [
      name,
      LINKS.has(name) && typeof value === 'string'
        ? `${root}/${value}`
        : withAbsoluteIds(value, root),
    ]),
  );
}
