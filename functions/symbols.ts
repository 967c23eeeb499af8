import { HttpRequest, HttpResponseInit } from '@azure/functions';
import { runtime } from '../shared/runtime';
import { serveSymbol } from '../shared/serve/serveSymbol';
import { rawPathTail } from './rawPath';
import { FunctionDefinition } from './definition';

const ROUTE_PREFIX_SEGMENTS = 3; // F/{feed}/symbols/

async function handler(request: HttpRequest): Promise<HttpResponseInit> {
  return serveSymbol(runtime(), {
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    feed: request.params.feed ?? '',
    rawKey: rawPathTail(request.url, ROUTE_PREFIX_SEGMENTS),
    range: request.headers.get('range'),
    ifNoneMatch: request.headers.get('if-none-match'),
  });
}

export const symbols: FunctionDefinition = {
  kind: 'http',
  name: 'symbols',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'F/{feed}/symbols/{*clientKey}',
    authLevel: 'anonymous',
    handler,
  },
};
