import { z } from 'zod';
import { readCatalogBlob } from '../catalog/appendCatalog';
import {
  catalogContentSchema,
  catalogIndex,
  catalogPathSchema,
  INDEX_PATH,
  withAbsoluteIds,
} from '../catalog/catalogShapes';
import { packageContent } from '../catalog/packageContent';
import { Settings } from '../config/settings';
import { DeleteRequestDeps } from '../packages/deletePackage';
import { deleteUpload } from './deleteUpload';
import { downloadPackage } from './download';
import { findIds, idUploads } from '../listings/readListings';
import { findVersion, flatContainerIndex } from './flatContainer';
import {
  access,
  apiBase,
  json,
  jsonText,
  message,
  NO_STORE,
  NuGetReadPorts,
  NuGetRequest,
  NuGetResponse,
} from './nugetHttp';
import { receivePush } from './push';
import { registrationIndex, registrationLeaf, registrationPage } from './registrations';
import { idQueryOf, parseSearchQuery, search, searchJson } from './search';
import { nugetUrls, serviceIndex } from './serviceIndex';
import { Subfeed } from './subfeed';

/** Multipart framing around the package: boundaries and part headers, generously. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** What the NuGet API uses besides reading: push limits, and hiding what a delete request names. */
export interface NuGetPorts extends NuGetReadPorts, DeleteRequestDeps {
  readonly settings: Pick<
    Settings,
    | 'SYMFEED_PUBLIC_URL'
    | 'SYMFEED_MAX_ENTRIES'
    | 'SYMFEED_MAX_ENTRY_BYTES'
    | 'SYMFEED_MAX_COMPRESSION_RATIO'
  >;
  readonly hidePackage: (feed: string, packageUid: string) => void;
}

const contentLengthSchema = z.coerce.number().int().nonnegative();

function param(request: NuGetRequest, name: string): string {
  return request.params[name] ?? '';
}

export async function handleServiceIndex(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const allowed = await access(ports, request, 'read');
  if (!allowed.ok) return allowed.response;
  return json(serviceIndex(apiBase(ports.settings, request), allowed.subfeed.plain));
}

/**
 * The feed's catalog (Catalog/3.0.0): its stored documents with links under this request's base,
 * and the content of the packages it lists, as uploaded (the catalog is how a mirror replicates
 * the feed: its readers download what it lists). Only the plain feed URL has it: it lists every
 * package of the feed, whoever pushed it.
 */
export async function handleCatalog(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const allowed = await access(ports, request, 'read');
  if (!allowed.ok) return allowed.response;
  const uid = catalogContentSchema.safeParse(param(request, 'path'));
  if (allowed.subfeed.plain && uid.success) {
    const content = await packageContent(ports.storage, allowed.subfeed.feed, uid.data);
    if (!content) return message(404, 'No such package content.');
    return {
      status: 200,
      headers: {
        ...NO_STORE,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(content.length),
      },
      body: content.body,
    };
  }
  const path = catalogPathSchema.safeParse(param(request, 'path'));
  if (!allowed.subfeed.plain || !path.success) return message(404, 'No such catalog document.');
  const stored = await readCatalogBlob(
    ports.storage.catalogContainer,
    allowed.subfeed.feed,
    path.data,
  );
  // A feed nothing has happened in yet has an empty catalog, not none: a mirror starts from it.
  const doc = stored?.doc ?? (path.data === INDEX_PATH ? catalogIndex([]) : undefined);
  if (!doc) return message(404, 'No such catalog document.');
  return json(withAbsoluteIds(doc, nugetUrls(apiBase(ports.settings, request)).catalog));
}

/**
 * PackagePublish and SymbolPackagePublish: the package goes to storage and the answer is 202 as
 * soon as it is committed (design.md: a push only acknowledges receipt); the blob trigger
 * indexes it.
 */
export async function handlePush(
  ports: NuGetPorts,
  request: NuGetRequest,
  options: { symbols: boolean; maxBytes: number },
): Promise<NuGetResponse> {
  const allowed = await access(ports, request, 'push');
  if (!allowed.ok) return allowed.response;
  const length = contentLengthSchema.safeParse(request.header('content-length') ?? undefined);
  if (length.success && length.data > options.maxBytes + MULTIPART_OVERHEAD_BYTES) {
    return message(
      413,
      `The package is larger than this server's limit of ${options.maxBytes} bytes.`,
    );
  }
  const outcome = await receivePush(ports.storage, {
    feed: allowed.subfeed.feed,
    owner: allowed.owner ?? '',
    symbols: options.symbols,
    contentType: request.header('content-type'),
    body: request.body(),
    maxBytes: options.maxBytes,
    zipLimits: {
      maxEntries: ports.settings.SYMFEED_MAX_ENTRIES,
      maxEntryBytes: ports.settings.SYMFEED_MAX_ENTRY_BYTES,
      maxCompressionRatio: ports.settings.SYMFEED_MAX_COMPRESSION_RATIO,
    },
  });
  if (!outcome.ok) return message(outcome.status, outcome.message);
  const what = outcome.listedVersion
    ? `${outcome.id} ${outcome.version}; it lists as ${outcome.listedVersion} once indexed`
    : 'the upload; the indexer will judge it';
  return {
    status: 202,
    headers: {
      ...NO_STORE,
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Symfeed-Package': encodeURIComponent(outcome.blob),
    },
    body: `Received ${what}.\n`,
  };
}

/** `DELETE .../{id}/{version}`: queues the delete of the upload the version names. */
export async function handleDelete(
  ports: NuGetPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const allowed = await access(ports, request, 'delete');
  if (!allowed.ok) return allowed.response;
  const outcome = await deleteUpload(
    ports,
    allowed.subfeed,
    allowed.owner,
    param(request, 'id'),
    param(request, 'version'),
  );
  if (!outcome.ok) return message(outcome.status, outcome.message);
  const { view } = outcome;
  return message(
    202,
    outcome.result === 'queued'
      ? `Queued the delete of ${view.id} ${view.version}.`
      : `${view.id} ${view.version} is already deleted or being deleted.`,
  );
}

/**
 * `.../package/{*rest}`: NuGet clients push to the advertised URL with a slash appended (rest
 * empty) and delete at `{id}/{version}` under it.
 */
export async function handlePackageEndpoint(
  ports: NuGetPorts,
  request: NuGetRequest,
  options: { symbols: boolean; maxBytes: number },
): Promise<NuGetResponse> {
  const rest = param(request, 'rest').replace(/^\/+|\/+$/g, '');
  if (rest === '') {
    return request.method === 'PUT'
      ? handlePush(ports, request, options)
      : message(405, 'Push with PUT; delete at {id}/{version}.', { Allow: 'PUT' });
  }
  const parts = rest.split('/');
  const [id, version] = parts;
  if (parts.length !== 2 || !id || !version || options.symbols) {
    return message(404, 'No such endpoint: delete at .../package/{id}/{version}.');
  }
  if (request.method !== 'DELETE') {
    return message(405, 'A package is deleted with DELETE.', { Allow: 'DELETE' });
  }
  return handleDelete(ports, { ...request, params: { ...request.params, id, version } });
}

async function readable(ports: NuGetReadPorts, request: NuGetRequest) {
  const allowed = await access(ports, request, 'read');
  if (!allowed.ok) return allowed;
  const urls = nugetUrls(apiBase(ports.settings, request));
  return { ...allowed, urls };
}

/** The uploads of the request's id the subfeed lists: one read of the id's listing. */
function uploadsOf(
  ports: NuGetReadPorts,
  feed: { subfeed: Subfeed; owner?: string | undefined },
  id: string,
) {
  return idUploads(ports.storage, feed.subfeed, feed.owner, id);
}

function notFound(what: string): NuGetResponse {
  return message(404, `${what} is not in this feed.`);
}

/** PackageBaseAddress `{id}/index.json`. */
export async function handleFlatContainerIndex(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const feed = await readable(ports, request);
  if (!feed.ok) return feed.response;
  const id = param(request, 'id');
  const index = flatContainerIndex(await uploadsOf(ports, feed, id), id);
  return index.versions.length ? json(index) : notFound(`Package ${param(request, 'id')}`);
}

/** PackageBaseAddress `{id}/{version}/{id}.{version}.nupkg`: see downloadPackage. */
export async function handleFlatContainerDownload(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const feed = await readable(ports, request);
  if (!feed.ok) return feed.response;
  const id = param(request, 'id');
  const version = param(request, 'version');
  const view = /\.nupkg$/i.test(param(request, 'file'))
    ? findVersion(await uploadsOf(ports, feed, id), id, version)
    : undefined;
  if (!view) return notFound(`Package ${id} ${version}`);
  const download = await downloadPackage(ports.storage, feed.subfeed, view);
  return { status: 200, headers: { ...download.headers, ...NO_STORE }, body: download.body };
}

/** RegistrationsBaseUrl `{id}/index.json` and `{id}/{version}.json`. */
export async function handleRegistration(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const feed = await readable(ports, request);
  if (!feed.ok) return feed.response;
  const id = param(request, 'id');
  const file = param(request, 'file');
  const views = await uploadsOf(ports, feed, id);
  if (file.toLowerCase() === 'index.json') {
    const index = registrationIndex(feed.urls, views, id);
    return index ? json(index) : notFound(`Package ${id}`);
  }
  const version = file.replace(/\.json$/i, '');
  const view = file.toLowerCase().endsWith('.json') ? findVersion(views, id, version) : undefined;
  return view ? json(registrationLeaf(feed.urls, view)) : notFound(`Package ${id} ${version}`);
}

/** RegistrationsBaseUrl `{id}/page/{lower}/{upper}.json`. */
export async function handleRegistrationPage(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const feed = await readable(ports, request);
  if (!feed.ok) return feed.response;
  const id = param(request, 'id');
  const page = registrationPage(
    feed.urls,
    await uploadsOf(ports, feed, id),
    id,
    param(request, 'lower'),
    param(request, 'upper').replace(/\.json$/i, ''),
  );
  return page ? json(page) : notFound(`A page of package ${id}`);
}

/** SearchQueryService. */
export async function handleSearch(
  ports: NuGetReadPorts,
  request: NuGetRequest,
): Promise<NuGetResponse> {
  const feed = await readable(ports, request);
  if (!feed.ok) return feed.response;
  const query = idQueryOf(parseSearchQuery(request.query));
  const found = await findIds(ports.storage, feed.subfeed, feed.owner, query);
  return jsonText(searchJson(search(feed.urls, found, query.seen)));
}
