import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  HttpFunctionOptions,
  HttpRequest,
  HttpRequestInit,
  HttpResponseInit,
} from '@azure/functions';
import { DefinitionOf } from '../functions/definition';
import { redactUrl } from '../shared/feeds/access';
import { invocationContext, LogLine } from './invocation';
import { safeDecode } from '../shared/util/safeDecode';

interface Route {
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly methods: ReadonlySet<string>;
  readonly options: HttpFunctionOptions;
  readonly name: string;
}

/** Compiles an Azure Functions route template ("F/{feed}/symbols/{*clientKey}") to a matcher. */
export function compileRoute(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const catchAll = /^\{\*(\w+)\}$/.exec(segment);
      if (catchAll?.[1]) {
        names.push(catchAll[1]);
        return '(.*)';
      }
      return segment.replace(/\{(\w+)\}|[^{]+/g, (part, name: string | undefined) => {
        if (name) {
          names.push(name);
          return '([^/]+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      });
    })
    .join('/');
  return { pattern: new RegExp(`^/${source}$`, 'i'), names };
}

/** An HTTP server that routes requests to HTTP-triggered functions as the Functions host does. */
export async function startHttpTriggers(
  definitions: readonly DefinitionOf<'http'>[],
  port: number,
  log: LogLine,
): Promise<{ port: number; close(): Promise<void> }> {
  const routes: Route[] = definitions.map((definition) => {
    const { pattern, names } = compileRoute(definition.options.route ?? definition.name);
    const methods = new Set<string>(definition.options.methods ?? ['GET', 'POST']);
    return { pattern, names, methods, options: definition.options, name: definition.name };
  });
  const serve = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    handle(routes, req, res, log, expectsContinue).catch((error: Error) => {
      // A stack can quote the URL (a URL parser's message does), so the whole line is redacted.
      log(redactUrl(`http: ${req.method} ${req.url ?? ''}: ${error.stack ?? error.message}`));
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal error; see the host log.\n');
    });
  };
  const server = createServer((req, res) => serve(req, res, false));
  // A client that asks before sending its body (Expect: 100-continue, as curl and .NET Framework
  // do for large bodies) is told to go on only when a handler reads the body: a refused push is
  // never sent at all.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => serve(req, res, true));
  const actual = await listen(server, port);
  return {
    port: actual,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} is already in use: stop what uses it or set PORT to another port`,
            )
          : error,
      );
    });
    server.listen(port, () => resolve((server.address() as AddressInfo).port));
  });
}

/** A Host header a URL can be built from: a DNS name or IP address, and an optional port. */
const HOST_HEADER = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/;

function requestUrl(req: IncomingMessage): string | undefined {
  const host = req.headers.host ?? 'localhost';
  if (!HOST_HEADER.test(host)) return undefined;
  const url = `http://${host}${req.url ?? '/'}`;
  return URL.canParse(url) ? url : undefined;
}

async function handle(
  routes: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
  log: LogLine,
  expectsContinue: boolean,
) {
  const url = requestUrl(req);
  if (url === undefined) {
    res
      .writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' })
      .end('The Host header is not a host name or address with an optional port.\n');
    return;
  }
  const rawUrl = req.url ?? '/';
  const path = rawUrl.replace(/[?#].*$/s, '');
  const method = req.method ?? 'GET';
  // As ASP.NET routing in the Functions host: the first route whose path and method both match;
  // 405 only when some route has the path but none the method.
  const allowed = new Set<string>();
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (!route.methods.has(method)) {
      route.methods.forEach((m) => allowed.add(m));
      continue;
    }
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      params[name] = safeDecode(match[i + 1] ?? '');
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const body = new RequestBody(req, expectsContinue ? () => res.writeContinue() : undefined);
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const nativeRequest = new Request(url, {
      method,
      headers,
      ...(hasBody ? { body: body.stream(), duplex: 'half' } : {}),
    } as RequestInit);
    // The request the Functions host builds with enableHttpStream (createStreamRequest in
    // @azure/functions): the body streams from the socket as the handler reads it, so a
    // handler that refuses the caller never reads it at all.
    const request = new HttpRequest({ nativeRequest, params } as HttpRequestInit);
    try {
      const response = await route.options.handler(request, invocationContext(route.name, log));
      await writeResponse(res, response, method === 'HEAD');
    } finally {
      body.discardRest();
    }
    return;
  }
  if (allowed.size > 0) {
    res.writeHead(405, { Allow: [...allowed].join(', ') }).end();
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('No such endpoint.\n');
}

/**
 * A request body read from the socket only as far as the handler reads it. Node closes the
 * connection when a body nobody started reading is left once the response is sent; the rest of a
 * body read partly (a push over the size limit, an authorised caller's) is read and dropped here
 * instead, so that the client, which is still sending, gets to read the answer.
 */
class RequestBody {
  private chunks: AsyncIterator<Buffer> | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly beforeFirstRead?: () => void,
  ) {}

  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (!this.chunks) {
            this.beforeFirstRead?.();
            // Stopping early must not destroy the request: its socket carries the answer.
            this.chunks = this.req.iterator({ destroyOnReturn: false });
          }
          const { value, done } = await this.chunks.next();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        // A handler that stops reading leaves the rest to discardRest, once it has answered.
      },
      { highWaterMark: 0 },
    );
  }

  discardRest(): void {
    const chunks = this.chunks;
    if (!chunks || this.req.complete) return;
    void (async () => {
      while (!(await chunks.next()).done);
    })().catch(() => undefined);
  }
}

async function writeResponse(res: ServerResponse, response: HttpResponseInit, head: boolean) {
  const headers = new Headers(response.headers as HeadersInit | undefined);
  let body = response.body;
  if (response.jsonBody !== undefined) {
    body = JSON.stringify(response.jsonBody);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  if ((typeof body === 'string' || body instanceof Uint8Array) && !headers.has('content-length')) {
    headers.set('content-length', String(Buffer.byteLength(body)));
  }
  res.writeHead(response.status ?? 200, Object.fromEntries(headers));
  if (head || body === undefined || body === null) {
    if (body instanceof Readable) body.destroy();
    res.end();
    return;
  }
  if (typeof body === 'string' || body instanceof Uint8Array) {
    res.end(body);
    return;
  }
  if (body instanceof Readable) {
    // A client that hangs up mid-download destroys the source, which releases the blob read.
    await pipeline(body, res).catch(() => undefined);
    return;
  }
  throw new Error('the local host supports string, bytes and Node stream bodies');
}
