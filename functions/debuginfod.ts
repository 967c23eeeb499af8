import { HttpRequest, HttpResponseInit } from '@azure/functions';
import { credentialsFrom } from '../shared/feeds/access';
import { debuginfodHeaders, debuginfodKey } from '../shared/serve/debuginfod';
import { runtime } from '../shared/runtime';
import { servingPorts } from './ports';
import { serveSymbol, SymbolResponse } from '../shared/serve/serveSymbol';
import { countedSymbolAnswer } from '../shared/telemetry/observe';
import { FunctionDefinition } from './definition';

/**
 * debuginfod's URL scheme on top of the SSQP keys, so gdb and lldb fetch debug files with
 * DEBUGINFOD_URLS=http://host/F/{feed} (or .../F/{feed}/auth/{token} for a private feed).
 */
async function handler(request: HttpRequest): Promise<HttpResponseInit> {
  return countedSymbolAnswer('debuginfod', () => answer(request));
}

async function answer(request: HttpRequest): Promise<SymbolResponse> {
  const key = debuginfodKey(request.params.buildid ?? '', request.params.artifact ?? '');
  if (!key.ok) {
    return {
      status: 404,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      body: `${key.reason}\n`,
    };
  }
  const response = await serveSymbol(servingPorts(runtime()), {
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    feed: request.params.feed ?? '',
    rawKey: key.key,
    range: request.headers.get('range'),
    ifNoneMatch: request.headers.get('if-none-match'),
    acceptEncoding: request.headers.get('accept-encoding'),
    credentials: credentialsFrom(request.headers.get('authorization'), request.params.token),
  });
  const file = response.file;
  if (!file || response.status >= 400) return response;
  return { ...response, headers: { ...response.headers, ...debuginfodHeaders(file) } };
}

export const debuginfod: FunctionDefinition = {
  kind: 'http',
  name: 'debuginfod',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'F/{feed}/buildid/{buildid}/{artifact}',
    authLevel: 'anonymous',
    handler,
  },
};

export const debuginfodWithToken: FunctionDefinition = {
  kind: 'http',
  name: 'debuginfodWithToken',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'F/{feed}/auth/{token}/buildid/{buildid}/{artifact}',
    authLevel: 'anonymous',
    handler,
  },
};
