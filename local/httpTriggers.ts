import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, isIPv6 } from 'node:net';
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

export interface Route {
  readonly template: string;
  readonly match: RouteMatcher;
  readonly methods: ReadonlySet<string>;
  readonly options: HttpFunctionOptions;
  readonly name: string;
}

type RouteSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'parameter'; readonly name: string }
  | { readonly kind: 'catchAll'; readonly name: string }
  /** `{name:maxlength(0)?}`: matches only where the path has ended, the way to route "/". */
  | { readonly kind: 'nothing' };

/** The route values of a path, or undefined when the path does not match. */
export type RouteMatcher = (path: string) => Record<string, string> | undefined;

function segmentOf(template: string, segment: string): RouteSegment {
  const parameter = /^\{(\*{1,2})?([A-Za-z_]\w*)\}$/.exec(segment);
  if (parameter?.[2]) {
    const [, star, name] = parameter;
    return star ? { kind: 'catchAll', name } : { kind: 'parameter', name };
  }
  if (/^\{[A-Za-z_]\w*:maxlength\(0\)\?\}$/.test(segment)) return { kind: 'nothing' };
  if (/[{}]/.test(segment)) {
    // Optional parameters, constraints, defaults and segments mixing text and parameters are more
    // of ASP.NET Core's routing than this host implements; no symfeed route needs them.
    throw new Error(
      `route "${template}": the local host does not support the segment "${segment}"`,
    );
  }
  return { kind: 'literal', text: segment };
}

function parseTemplate(template: string): RouteSegment[] {
  return template.split('/').map((segment) => segmentOf(template, segment));
}

/**
 * Matches a route template as the Functions host does (ASP.NET Core's RoutePatternMatcher):
 * literal segments ignoring case, a parameter for one non-empty segment, a catch-all for the rest
 * of the path, empty rest included; a trailing slash is ignored and an empty segment matches
 * nothing. Values are percent-decoded.
 */
export function routeMatcher(template: string): RouteMatcher {
  const segments = parseTemplate(template);
  return (path) => {
    // "/" has no segments; a trailing slash ends none.
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const parts = trimmed === '/' || trimmed === '' ? [] : trimmed.slice(1).split('/');
    const values: Record<string, string> = {};
    let offset = 1;
    for (const [i, part] of parts.entries()) {
      const segment = segments[i];
      if (part === '' || !segment || segment.kind === 'nothing') return undefined;
      if (segment.kind === 'catchAll') {
        values[segment.name] = safeDecode(path.slice(offset));
        return values;
      }
      if (segment.kind === 'literal') {
        if (safeDecode(part).toLowerCase() !== segment.text.toLowerCase()) return undefined;
      } else {
        values[segment.name] = safeDecode(part);
      }
      offset += part.length + 1;
    }
    // Left over, only a catch-all (it takes the empty rest) or the end of the path matches.
    const next = segments[parts.length];
    return next === undefined || next.kind === 'catchAll' || next.kind === 'nothing'
      ? values
      : undefined;
  };
}

/** Whether some path matches both templates. */
function overlap(a: readonly RouteSegment[], b: readonly RouteSegment[]): boolean {
  const ended = (segments: readonly RouteSegment[]) =>
    segments[0]?.kind === 'nothing' ? [] : segments;
  const [x, ...restOfA] = ended(a);
  const [y, ...restOfB] = ended(b);
  if (x?.kind === 'catchAll' || y?.kind === 'catchAll') return true;
  if (!x || !y) return !x && !y;
  if (
    x.kind === 'literal' &&
    y.kind === 'literal' &&
    x.text.toLowerCase() !== y.text.toLowerCase()
  ) {
    return false;
  }
  return overlap(restOfA, restOfB);
}

interface RouteShape {
  readonly name: string;
  readonly template: string;
  readonly methods: ReadonlySet<string>;
}

/**
 * Refuses two routes that take the same request: the Functions host would give it to the one whose
 * function name sorts first, so the other never answers there. Say it now, not in Azure.
 */
export function assertUnambiguous(routes: readonly RouteShape[]): void {
  const parsed = routes.map((route) => ({
    ...route,
    segments: parseTemplate(route.template),
  }));
  for (const [i, a] of parsed.entries()) {
    for (const b of parsed.slice(i + 1)) {
      const methods = [...a.methods].filter((method) => b.methods.has(method));
      if (methods.length > 0 && overlap(a.segments, b.segments)) {
        throw new Error(
          `routes ${a.template} (function ${a.name}) and ${b.template} (function ${b.name}) both take some ${methods.join(', ')} requests: the Functions host gives them to whichever function's name sorts first, so make the routes or their methods distinct`,
        );
      }
    }
  }
}

/**
 * The order the Functions host tries routes in: by function name, ignoring case (the host lists
 * functions so, and its router takes the first route that matches). Declaration order counts
 * for nothing, so no two symfeed routes may match the same request.
 */
export function hostOrder<T extends { readonly name: string }>(routes: readonly T[]): T[] {
  const key = (route: T) => route.name.toUpperCase();
  return [...routes].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The routes of HTTP-triggered functions, in the order the Functions host tries them. */
export function routesOf(definitions: readonly DefinitionOf<'http'>[]): Route[] {
  const routes = hostOrder(definitions).map((definition) => {
    const template = definition.options.route ?? definition.name;
    return {
      template,
      match: routeMatcher(template),
      // The default of @azure/functions' app.http.
      methods: new Set<string>(definition.options.methods ?? ['GET', 'POST']),
      options: definition.options,
      name: definition.name,
    };
  });
  assertUnambiguous(routes);
  return routes;
}

/**
 * The first route whose template and methods both match: the method is part of the route, so a
 * method no route declares finds none (a 404, as in Azure).
 */
export function routeFor(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const params = route.methods.has(method) ? route.match(path) : undefined;
    if (params) return { route, params };
  }
  return undefined;
}

/** Where the HTTP server listens: a port (0 for any free one) and an address. */
export interface ListenOn {
  readonly port: number;
  readonly host: string;
}

/** The URL of a server listening on `host`; one on every address is reached here by loopback. */
export function urlOf(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIPv6(reachable) ? `[${reachable}]` : reachable}:${port}`;
}

/** An HTTP server that routes requests to HTTP-triggered functions as the Functions host does. */
export async function startHttpTriggers(
  definitions: readonly DefinitionOf<'http'>[],
  on: ListenOn,
  log: LogLine,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const routes = routesOf(definitions);
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
  const port = await listen(server, on);
  return {
    url: urlOf(on.host, port),
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server, { port, host }: ListenOn): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const cause: Record<string, string> = {
        EADDRINUSE: `port ${port} is already in use on ${host}: stop what uses it or set PORT to another port`,
        EADDRNOTAVAIL: `cannot listen on ${host}: no network interface of this machine has that address; set HOST to one that does, or to 0.0.0.0 for every address`,
        ENOTFOUND: `cannot listen on ${host}: the name does not resolve; set HOST to an address of this machine`,
      };
      reject(error.code && cause[error.code] ? new Error(cause[error.code]) : error);
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
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
  const found = routeFor(routes, method, path);
  if (!found) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('No such endpoint.\n');
    return;
  }
  const { route, params } = found;
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
    // The status and length are known once storage has answered: the client gets them now, not
    // with the first bytes of the body, which a large range read brings milliseconds later.
    res.flushHeaders();
    // A client that hangs up mid-download destroys the source, which releases the blob read.
    await pipeline(body, res).catch(() => undefined);
    return;
  }
  throw new Error('the local host supports string, bytes and Node stream bodies');
}
