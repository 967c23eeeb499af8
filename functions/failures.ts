import {
  HttpHandler,
  HttpRequest,
  HttpResponse,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { finished, Readable } from 'node:stream';
import { redactUrl } from '../shared/feeds/access';
import { DamagedEntryError } from '../shared/serve/verifiedEntry';
import { FunctionDefinition } from './definition';

/** How much of an answer's own message stands in for a cause the answer does not give. */
const MAX_QUOTED = 300;

/**
 * Every answer that fails by symfeed's fault (5xx) writes one log line, a JSON object an
 * operator can query (`parse_json(message)` in Application Insights): the function, the
 * invocation, the request's path (tokens redacted), the status and the cause. A handler that
 * throws is logged the same way and its error goes on to the host, which answers 500.
 */
export function loggingFailures(
  definitions: readonly FunctionDefinition[],
): readonly FunctionDefinition[] {
  return definitions.map((definition) =>
    definition.kind === 'http'
      ? {
          ...definition,
          options: { ...definition.options, handler: logged(definition.options.handler) },
        }
      : definition,
  );
}

function logged(handler: HttpHandler): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext) => {
    let response: HttpResponseInit | HttpResponse;
    try {
      response = await handler(request, context);
    } catch (error) {
      logFailure(request, context, 500, `unhandled: ${(error as Error).message}`);
      throw error;
    }
    const status = response.status ?? 200;
    if (status >= 500) logFailure(request, context, status, causeOf(response));
    else if (response.body instanceof Readable) {
      // Its headers are gone: a body that breaks off on damage is logged as it happens.
      finished(response.body, (error) => {
        if (error instanceof DamagedEntryError) {
          logFailure(request, context, status, `aborted after the headers: ${error.message}`);
        }
      });
    }
    return response;
  };
}

/** The cause the answer carries for the log (`cause`), else the message it sends. */
function causeOf(response: HttpResponseInit | HttpResponse): string {
  if ('cause' in response && typeof response.cause === 'string') return response.cause;
  const said =
    'jsonBody' in response && response.jsonBody !== undefined
      ? JSON.stringify(response.jsonBody)
      : typeof response.body === 'string'
        ? response.body.trim()
        : undefined;
  return said ? `the answer says: ${said.slice(0, MAX_QUOTED)}` : 'not given';
}

function logFailure(
  request: HttpRequest,
  context: InvocationContext,
  status: number,
  cause: string,
): void {
  context.error(
    JSON.stringify({
      event: 'symfeed.failed_answer',
      function: context.functionName,
      invocationId: context.invocationId,
      method: request.method,
      path: redactUrl(pathOf(request.url)),
      status,
      cause: redactUrl(cause),
    }),
  );
}

function pathOf(url: string): string {
  return URL.canParse(url) ? new URL(url).pathname : url.replace(/[?#].*$/s, '');
}
