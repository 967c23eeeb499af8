import { HttpRequest, HttpResponseInit } from '@azure/functions';
import { credentialsFrom } from '../shared/feeds/access';
import { runtime } from '../shared/runtime';
import { servingPorts } from './ports';
import { serveSymbol } from '../shared/serve/serveSymbol';
import { countedSymbolAnswer } from '../shared/telemetry/observe';
import { FunctionDefinition } from './definition';
import { rawPathTail } from './rawPath';

/** Serves SSQP requests on a route whose key starts after `prefixSegments` path segments. */
function handler(prefixSegments: number) {
  return async (request: HttpRequest): Promise<HttpResponseInit> =>
    countedSymbolAnswer('ssqp', () =>
      serveSymbol(servingPorts(runtime()), {
        method: request.method === 'HEAD' ? 'HEAD' : 'GET',
        feed: request.params.feed ?? '',
        rawKey: rawPathTail(request.url, prefixSegments),
        range: request.headers.get('range'),
        ifNoneMatch: request.headers.get('if-none-match'),
        acceptEncoding: request.headers.get('accept-encoding'),
        credentials: credentialsFrom(request.headers.get('authorization'), request.params.token),
      }),
    );
}

export const symbols: FunctionDefinition = {
  kind: 'http',
  name: 'symbols',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'F/{feed}/symbols/{*clientKey}',
    authLevel: 'anonymous',
    handler: handler(3),
  },
};

/** The token in the path: the one form of credentials every debugger's symbol path can carry. */
export const symbolsWithToken: FunctionDefinition = {
  kind: 'http',
  name: 'symbolsWithToken',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'F/{feed}/auth/{token}/symbols/{*clientKey}',
    authLevel: 'anonymous',
    handler: handler(5),
  },
};
