import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { redactUrl } from '../shared/feeds/access';
import { handleNuGetV2 } from '../shared/nuget/odata/v2Feed';
import { runtime } from '../shared/runtime';
import { apiPorts } from './ports';
import { FunctionDefinition } from './definition';

async function handler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const response = await handleNuGetV2(apiPorts(runtime()), {
    url: request.url,
    authorization: request.headers.get('authorization'),
  });
  // What NuGet clients ask for varies by version; the log shows it.
  context.log(`${request.method} ${redactUrl(request.url)} -> ${response.status}`);
  return response;
}

/**
 * The NuGet v2 OData feed of a (sub)feed. One catch-all route: OData resource names carry
 * parentheses, quotes and `$`, which route templates cannot spell. The v2 push and delete
 * routes (`api/v2/package`) are literal, so the Functions host prefers them over this one.
 */
export const nugetV2: FunctionDefinition = {
  kind: 'http',
  name: 'nugetV2',
  options: {
    methods: ['GET', 'HEAD'],
    route: 'F/{feed}/api/v2/{*resource}',
    authLevel: 'anonymous',
    handler,
  },
};
