import { HttpMethod, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { AdminOperation, handleAdmin } from '../shared/admin/adminApi';
import { runtime } from '../shared/runtime';
import { apiPorts } from './ports';
import { FunctionDefinition } from './definition';

/** One function per route: the host matches routes and methods, the admin API does the rest. */
function route(
  name: string,
  template: string,
  byMethod: Partial<Record<HttpMethod, AdminOperation>>,
): FunctionDefinition {
  async function handler(request: HttpRequest, context: InvocationContext) {
    const operation = byMethod[request.method as HttpMethod];
    // The host only routes the declared methods here.
    if (!operation) return { status: 405 } satisfies HttpResponseInit;
    return handleAdmin(
      apiPorts(runtime()),
      operation,
      {
        params: request.params,
        query: request.query,
        authorization: request.headers.get('authorization'),
        body: request.body,
      },
      (line) => context.log(line),
    );
  }
  return {
    kind: 'http',
    name,
    options: {
      methods: Object.keys(byMethod) as HttpMethod[],
      route: template,
      authLevel: 'anonymous',
      handler,
    },
  };
}

/** The admin API; authorised by SYMFEED_ADMIN_TOKEN in shared/admin, not by function keys. */
export const admin: readonly FunctionDefinition[] = [
  route('manageFeeds', 'manage/feeds', { GET: 'listFeeds' }),
  route('manageFeed', 'manage/feeds/{feed}', { PUT: 'putFeed', DELETE: 'deleteFeed' }),
  route('manageFeedTokens', 'manage/feeds/{feed}/tokens', {
    GET: 'listTokens',
    POST: 'createToken',
  }),
  route('manageToken', 'manage/tokens/{id}', { DELETE: 'revokeToken' }),
  route('managePackages', 'manage/feeds/{feed}/packages', { GET: 'listPackages' }),
  route('manageRetention', 'manage/feeds/{feed}/retention', { GET: 'retentionPlan' }),
  route('managePackage', 'manage/feeds/{feed}/packages/{uid}', {
    GET: 'showPackage',
    DELETE: 'deletePackage',
  }),
];
