import { PackageView } from '../listings/packageView';
import { contentUrl, versionsOf } from './flatContainer';
import { compareVersions, normalizeVersion } from './nugetVersion';

/** Versions per registration page. */
export const PAGE_VERSIONS = 64;
/**
 * Up to this many versions the index carries its pages whole; beyond, only their bounds, so an id
 * with thousands of uploads costs the client one small index and the pages it actually reads.
 */
export const INLINE_VERSIONS = 128;

export interface RegistrationUrls {
  /** `.../registration/`, as advertised in the service index. */
  readonly registrationBase: string;
  /** `.../flatcontainer/`, where packageContent points. */
  readonly flatContainerBase: string;
}

function idSegment(id: string): string {
  return encodeURIComponent(id.toLowerCase());
}

function indexUrl(urls: RegistrationUrls, id: string): string {
  return `${urls.registrationBase}${idSegment(id)}/index.json`;
}

function leafUrl(urls: RegistrationUrls, view: PackageView): string {
  return `${urls.registrationBase}${idSegment(view.id)}/${encodeURIComponent(normalizeVersion(view.version))}.json`;
}

function pageUrl(urls: RegistrationUrls, id: string, lower: string, upper: string): string {
  return `${urls.registrationBase}${idSegment(id)}/page/${encodeURIComponent(lower)}/${encodeURIComponent(upper)}.json`;
}

function catalogEntry(urls: RegistrationUrls, view: PackageView) {
  return {
    '@id': `${leafUrl(urls, view)}#catalogEntry`,
    '@type': 'PackageDetails',
    id: view.id,
    version: view.version,
    listed: true,
    published: view.uploadedAt,
    authors: '',
    description: `symfeed upload ${view.uid} of ${view.id} ${view.originalVersion || '(no version)'}: ${view.state}`,
    packageContent: contentUrl(urls.flatContainerBase, view),
    dependencyGroups: [],
    tags: [],
  };
}

function leafInPage(urls: RegistrationUrls, view: PackageView) {
  return {
    '@id': leafUrl(urls, view),
    '@type': 'Package',
    catalogEntry: catalogEntry(urls, view),
    packageContent: contentUrl(urls.flatContainerBase, view),
    registration: indexUrl(urls, view.id),
  };
}

function page(
  urls: RegistrationUrls,
  id: string,
  versions: readonly PackageView[],
  inline: boolean,
) {
  const lower = normalizeVersion(versions[0]?.version ?? '');
  const upper = normalizeVersion(versions[versions.length - 1]?.version ?? '');
  return {
    '@id': pageUrl(urls, id, lower, upper),
    '@type': 'catalog:CatalogPage',
    count: versions.length,
    lower,
    upper,
    parent: indexUrl(urls, id),
    ...(inline ? { items: versions.map((view) => leafInPage(urls, view)) } : {}),
  };
}

/** RegistrationsBaseUrl `{id}/index.json`; undefined when the subfeed has no such id. */
export function registrationIndex(
  urls: RegistrationUrls,
  views: readonly PackageView[],
  id: string,
) {
  const versions = versionsOf(views, id);
  if (versions.length === 0) return undefined;
  const inline = versions.length <= INLINE_VERSIONS;
  const pages = [];
  for (let start = 0; start < versions.length; start += PAGE_VERSIONS) {
    pages.push(page(urls, id, versions.slice(start, start + PAGE_VERSIONS), inline));
  }
  return {
    '@id': indexUrl(urls, id),
    '@type': ['catalog:CatalogRoot', 'PackageRegistration', 'catalog:Permalink'],
    count: pages.length,
    items: pages,
  };
}

/**
 * One page named by its bounds: every version from lower to upper. Bounds rather than page
 * numbers keep a page URL meaningful while uploads arrive, even when a client holds an older index.
 */
export function registrationPage(
  urls: RegistrationUrls,
  views: readonly PackageView[],
  id: string,
  lower: string,
  upper: string,
) {
  const versions = versionsOf(views, id).filter(
    (view) =>
      compareVersions(view.version, lower) >= 0 && compareVersions(view.version, upper) <= 0,
  );
  if (versions.length === 0) return undefined;
  return {
    ...page(urls, id, versions, true),
    '@id': pageUrl(urls, id, lower, upper),
    lower,
    upper,
  };
}

/** A registration leaf `{id}/{version}.json`. */
export function registrationLeaf(urls: RegistrationUrls, view: PackageView) {
  return {
    '@id': leafUrl(urls, view),
    '@type': ['Package', 'http://schema.nuget.org/catalog#Permalink'],
    catalogEntry: catalogEntry(urls, view),
    listed: true,
    published: view.uploadedAt,
    packageContent: contentUrl(urls.flatContainerBase, view),
    registration: indexUrl(urls, view.id),
  };
}
