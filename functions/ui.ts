import { HttpRequest, HttpResponseInit } from '@azure/functions';
import { runtime } from '../shared/runtime';
import { handleUi, UiOperation } from '../shared/ui/uiApi';
import { FunctionDefinition } from './definition';

/** The web page's JSON API: read-only, authorised by feed tokens as the feeds themselves are. */
function route(name: string, template: string, operation: UiOperation): FunctionDefinition {
  async function handler(request: HttpRequest): Promise<HttpResponseInit> {
    const { storage, feeds, tokens } = runtime();
    return handleUi({ storage, feeds, tokens }, operation, {
      params: request.params,
      query: request.query,
      authorization: request.headers.get('authorization'),
      baseUrl: new URL(request.url).origin,
    });
  }
  return {
    kind: 'http',
    name,
    options: { methods: ['GET'], route: template, authLevel: 'anonymous', handler },
  };
}

export const ui: readonly FunctionDefinition[] = [
  route('uiWhoami', 'ui/api/whoami', 'whoami'),
  route('uiFeeds', 'ui/api/feeds', 'feeds'),
  route('uiFeed', 'ui/api/feeds/{feed}', 'feed'),
  route('uiPackages', 'ui/api/feeds/{feed}/packages', 'packages'),
  route('uiPackage', 'ui/api/feeds/{feed}/packages/{uid}', 'package'),
  route('uiLookup', 'ui/api/feeds/{feed}/lookup', 'lookup'),
  route('uiMissing', 'ui/api/feeds/{feed}/missing', 'missing'),
];
