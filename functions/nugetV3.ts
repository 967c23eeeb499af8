import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { HttpMethod, HttpRequest, HttpResponseInit } from '@azure/functions';
import {
  handleCatalog,
  handleFlatContainerDownload,
  handleFlatContainerIndex,
  handlePackageEndpoint,
  handleRegistration,
  handleRegistrationPage,
  handleSearch,
  handleServiceIndex,
  NuGetPorts,
} from '../shared/nuget/api';
import { answeringStorageFaults, NuGetRequest, NuGetResponse } from '../shared/nuget/nugetHttp';
import { runtime } from '../shared/runtime';
import { countedNuGetPush } from '../shared/telemetry/observe';
import { FunctionDefinition } from './definition';
import { apiPorts } from './ports';

type Handler = (ports: NuGetPorts, request: NuGetRequest) => Promise<NuGetResponse>;

function nugetRequest(request: HttpRequest): NuGetRequest {
  return {
    method: request.method,
    url: request.url,
    feedSegment: request.params.feed ?? '',
    params: request.params,
    query: request.query,
    header: (name) => request.headers.get(name),
    body: () =>
      request.body
        ? Readable.fromWeb(request.body as ReadableStream<Uint8Array>)
        : Readable.from([]),
  };
}

function route(
  name: string,
  template: string,
  methods: HttpMethod[],
  handle: Handler,
): FunctionDefinition {
  return {
    kind: 'http',
    name,
    options: {
      methods,
      route: `F/{feed}/api/${template}`,
      authLevel: 'anonymous',
      handler: async (request: HttpRequest): Promise<HttpResponseInit> => {
        const answer = () =>
          answeringStorageFaults(() => handle(apiPorts(runtime()), nugetRequest(request)));
        // Every PUT of the NuGet API is a push.
        return request.method === 'PUT' ? countedNuGetPush(answer) : answer();
      },
    },
  };
}

/**
 * The NuGet v3 surface of every (sub)feed, and the v2 push and delete endpoints it advertises.
 * `{feed}` is a feed name or a subfeed `{feed},{own|all},{state}`. The Functions host tries
 * routes by function name, not in this order: no two of them take the same request.
 */
export function nugetV3Definitions(maxPushBytes?: number): readonly FunctionDefinition[] {
  const options = (symbols: boolean) => ({
    symbols,
    maxBytes: maxPushBytes ?? runtime().settings.SYMFEED_MAX_PUSH_BYTES,
  });
  const underPackage = (symbols: boolean) => (ports: NuGetPorts, request: NuGetRequest) =>
    handlePackageEndpoint(ports, request, options(symbols));
  return [
    route('nugetServiceIndex', 'v3/index.json', ['GET'], handleServiceIndex),
    // NuGet clients push to `package` or `package/` (a catch-all matches nothing too) and
    // delete at `package/{id}/{version}`.
    route('nugetPackage', 'v2/package/{*rest}', ['PUT', 'DELETE'], underPackage(false)),
    route('nugetSymbolPackage', 'v2/symbolpackage/{*rest}', ['PUT'], underPackage(true)),
    route('nugetFlatIndex', 'v3/flatcontainer/{id}/index.json', ['GET'], handleFlatContainerIndex),
    route(
      'nugetFlatDownload',
      'v3/flatcontainer/{id}/{version}/{file}',
      ['GET'],
      handleFlatContainerDownload,
    ),
    route('nugetRegistration', 'v3/registration/{id}/{file}', ['GET'], handleRegistration),
    route(
      'nugetRegistrationPage',
      'v3/registration/{id}/page/{lower}/{upper}',
      ['GET'],
      handleRegistrationPage,
    ),
    route('nugetSearch', 'v3/query', ['GET'], handleSearch),
    route('nugetCatalog', 'v3/catalog/{*path}', ['GET'], handleCatalog),
  ];
}

export const nugetV3 = nugetV3Definitions();
