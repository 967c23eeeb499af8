import { Readable } from 'node:stream';
import { credentialsFrom } from '../../feeds/access';
import { isStorageFailure } from '../../storage/clients';
import { downloadPackage } from '../download';
import { NO_STORE, NuGetReadPorts, publicBase, STORAGE_UNAVAILABLE } from '../nugetHttp';
import { findIds, findUploads, idUploads, scanSubfeed } from '../../listings/readListings';
import { latestVisible } from '../../listings/listingShapes';
import { parseSubfeed, Subfeed } from '../subfeed';
import { authorizeSubfeed } from '../subfeedAccess';
import { atomEntry, atomFeed, errorDocument, metadataDocument, serviceDocument } from './atom';
import { ODataError } from './errors';
import { normalizeVersion } from '../nugetVersion';
import { FeedPackage, feedPackages, findFeedPackage } from './packages';
import {
  booleanParameter,
  Page,
  parseQueryOptions,
  QueryOptions,
  runQuery,
  semVer2Parameter,
  stringParameter,
} from './query';

/** Entries per response; clients follow the `next` link for more (nuget.org uses 100 too). */
const PAGE_SIZE = 100;

export interface V2Request {
  /** The full request URL, still percent-encoded. */
  readonly url: string;
  readonly authorization: string | null;
}

export interface V2Response {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string | Readable;
  /** For the log, never sent: why symfeed failed this answer (5xx). */
  readonly cause?: string;
}

const XML = 'application/xml;charset=utf-8';
/** WCF Data Services clients (NuGet 2.x) refuse responses without an OData version. */
const ODATA = { DataServiceVersion: '2.0;', ...NO_STORE };

function xml(status: number, body: string, contentType = XML): V2Response {
  return { status, headers: { ...ODATA, 'Content-Type': contentType }, body };
}

function error(status: number, message: string, headers: Record<string, string> = {}): V2Response {
  const response = xml(status, errorDocument(message));
  return { ...response, headers: { ...response.headers, ...headers } };
}

const COLLECTION = /^(Packages|Search|FindPackagesById)(?:\(\))?(\/\$count)?$/;
const KEY = /^Packages\(\s*Id\s*=\s*'((?:[^']|'')*)'\s*,\s*Version\s*=\s*'((?:[^']|'')*)'\s*\)$/;
const DOWNLOAD = /^package\/([^/]+)\/([^/]+)$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ODataError('the path has invalid percent-encoding');
  }
}

/**
 * The NuGet v2 OData feed of one (sub)feed under `/F/{feed}/api/v2/`: the service document,
 * $metadata, Packages(), Packages(Id=,Version=), Search(), FindPackagesById() (each with
 * `/$count`) and downloads. Listings are Atom, paged by `next` links.
 */
export async function handleNuGetV2(
  ports: NuGetReadPorts,
  request: V2Request,
): Promise<V2Response> {
  const url = new URL(request.url);
  // F/{feed}/api/v2/{resource}: the feed segment is kept as sent for the links back to it.
  const [, , rawFeed = '', , , ...rest] = url.pathname.split('/');
  try {
    const parsed = parseSubfeed(decode(rawFeed));
    if (!parsed.ok) return error(404, parsed.reason);
    const { subfeed } = parsed;
    const access = await authorizeSubfeed(
      ports,
      subfeed,
      credentialsFrom(request.authorization, undefined),
    );
    if (!access.ok) {
      return error(
        access.status,
        access.message,
        access.challenge ? { 'WWW-Authenticate': access.challenge } : {},
      );
    }
    const base = `${publicBase(ports.settings, request.url)}/F/${rawFeed}/api/v2/`;
    const resource = rest.join('/');
    const uploads = async (id: string, semVer2: boolean) =>
      feedPackages(await idUploads(ports.storage, subfeed, access.owner, id), semVer2);

    if (resource === '') return xml(200, serviceDocument(base));
    if (resource === '$metadata') return xml(200, metadataDocument());

    const download = DOWNLOAD.exec(resource);
    if (download) {
      const id = decode(download[1] ?? '');
      const found = findFeedPackage(await uploads(id, true), id, decode(download[2] ?? ''));
      return found ? await downloadOf(ports, subfeed, found) : error(404, 'No such package.');
    }

    const key = KEY.exec(decode(resource));
    if (key) {
      const unquote = (text = '') => text.replace(/''/g, "'");
      const id = unquote(key[1]);
      const found = findFeedPackage(
        await uploads(id, semVer2Parameter(url.searchParams)),
        id,
        unquote(key[2]),
      );
      return found
        ? xml(200, atomEntry(base, found), 'application/atom+xml;type=entry;charset=utf-8')
        : error(404, 'No such package.');
    }

    const collection = COLLECTION.exec(decode(resource));
    if (!collection) return error(404, `"${decode(resource)}" is not a resource of this feed.`);
    const name = collection[1] as 'Packages' | 'Search' | 'FindPackagesById';
    const params = url.searchParams;
    const options = parseQueryOptions(params);
    const select = selector(name, params);
    const semVer2 = semVer2Parameter(params);
    const indexed = indexedListing(name, params, options, subfeed);
    const page = indexed
      ? await indexedPage(ports, subfeed, indexed, options, semVer2)
      : runQuery(
          feedPackages(
            name === 'FindPackagesById'
              ? await idUploads(
                  ports.storage,
                  subfeed,
                  access.owner,
                  stringParameter(params, 'id') ?? '',
                )
              : await scanSubfeed(ports.storage, subfeed, access.owner),
            semVer2,
          ).filter(select),
          options,
          PAGE_SIZE,
        );
    if (collection[2]) {
      const counted = Math.min(Math.max(page.count - options.skip, 0), options.top ?? Infinity);
      return xml(200, String(counted), 'text/plain;charset=utf-8');
    }
    let next: string | undefined;
    if (page.next) {
      const query = new URLSearchParams(params);
      query.set('$skip', String(page.next.skip));
      if (page.next.top !== undefined) query.set('$top', String(page.next.top));
      next = `${base}${rest.join('/')}?${query.toString()}`;
    }
    return xml(
      200,
      atomFeed({
        base,
        title: name,
        entries: page.entries,
        ...(options.inlineCount ? { count: page.count } : {}),
        ...(next === undefined ? {} : { next }),
      }),
      'application/atom+xml;type=feed;charset=utf-8',
    );
  } catch (failure) {
    if (failure instanceof ODataError) return error(400, failure.message);
    if (isStorageFailure(failure)) {
      return {
        ...error(503, STORAGE_UNAVAILABLE.message, STORAGE_UNAVAILABLE.headers),
        cause: `storage: ${(failure as Error).message}`,
      };
    }
    throw failure;
  }
}

/**
 * NuGet 2.x's `list -Prerelease` (the latest upload of each id) and `list -AllVersions
 * -Prerelease` (every upload), in id order, which the listing index answers reading only the
 * pages, and for every upload the ids, the wanted entries are on. Other queries (other filters
 * and orders, search terms, an `own` subfeed) list from the table.
 */
function indexedListing(
  name: 'Packages' | 'Search' | 'FindPackagesById',
  params: URLSearchParams,
  options: QueryOptions,
  subfeed: Subfeed,
): 'latest' | 'all' | undefined {
  const { filter, orderBy } = options;
  const byId =
    orderBy.length === 0 ||
    (orderBy.length === 1 &&
      !orderBy[0]?.descending &&
      orderBy[0]?.expr.kind === 'property' &&
      orderBy[0].expr.name === 'Id');
  const shape =
    filter === undefined
      ? 'all'
      : filter.kind === 'property' && filter.name === 'IsAbsoluteLatestVersion'
        ? 'latest'
        : undefined;
  const everything =
    name === 'Packages' ||
    (name === 'Search' &&
      booleanParameter(params, 'includePrerelease') &&
      (stringParameter(params, 'searchTerm') ?? '').trim() === '');
  return subfeed.ownership === 'all' && byId && everything ? shape : undefined;
}

/** A page of an indexed listing (see indexedListing), cut at PAGE_SIZE as runQuery cuts. */
async function indexedPage(
  ports: NuGetReadPorts,
  subfeed: Subfeed,
  shape: 'latest' | 'all',
  options: QueryOptions,
  semVer2: boolean,
): Promise<Page> {
  const wanted = options.top ?? Infinity;
  const take = Math.min(wanted, PAGE_SIZE);
  const seen = { prerelease: true, semVer2, nugetOnly: true };
  let total: number;
  let entries: FeedPackage[];
  if (shape === 'latest') {
    const found = await findIds(ports.storage, subfeed, undefined, {
      exact: [],
      terms: [],
      seen,
      skip: options.skip,
      take,
    });
    total = found.total;
    entries = feedPackages(
      found.ids.flatMap((summary) => latestVisible(summary, seen) ?? []),
      semVer2,
    );
  } else {
    const found = await findUploads(ports.storage, subfeed, seen, options.skip, take);
    total = found.total;
    // Each id whole, so that its latest versions are known, then cut to the window.
    entries = found.ids.flatMap(({ first, views }) =>
      feedPackages(views, semVer2).filter((_, i) => {
        const at = first + i;
        return at >= options.skip && at < options.skip + take;
      }),
    );
  }
  const count = Math.max(Math.min(total - options.skip, wanted), 0);
  return {
    entries,
    count: total,
    ...(count > PAGE_SIZE
      ? {
          next: {
            skip: options.skip + PAGE_SIZE,
            ...(options.top === undefined ? {} : { top: options.top - PAGE_SIZE }),
          },
        }
      : {}),
  };
}

/** What a function's own parameters select before $filter applies. */
function selector(
  name: 'Packages' | 'Search' | 'FindPackagesById',
  params: URLSearchParams,
): (p: FeedPackage) => boolean {
  if (name === 'FindPackagesById') {
    const id = stringParameter(params, 'id');
    if (id === undefined) throw new ODataError(`FindPackagesById needs id='...'`);
    return (p) => p.view.id.toLowerCase() === id.toLowerCase();
  }
  if (name === 'Search') {
    const terms = (stringParameter(params, 'searchTerm') ?? '').toLowerCase().split(/\s+/);
    // Packages carry no target frameworks to match; the parameter is checked and accepted.
    stringParameter(params, 'targetFramework');
    const prerelease = booleanParameter(params, 'includePrerelease');
    const wanted = terms.filter(Boolean);
    return (p) =>
      (prerelease || !p.props.IsPrerelease) &&
      (wanted.length === 0 ||
        wanted.some((term) =>
          [p.view.id, p.props.Description].some((text) =>
            String(text).toLowerCase().includes(term),
          ),
        ));
  }
  return () => true;
}

async function downloadOf(
  ports: NuGetReadPorts,
  subfeed: Subfeed,
  p: FeedPackage,
): Promise<V2Response> {
  const download = await downloadPackage(ports.storage, subfeed, p.view);
  const file = `${p.view.id}.${normalizeVersion(p.view.version)}.nupkg`.replace(/[^\w.-]/g, '_');
  return {
    status: 200,
    headers: {
      ...download.headers,
      ...NO_STORE,
      'Content-Disposition': `attachment; filename="${file}"`,
    },
    body: download.body,
  };
}
