import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  EventGridEvent,
  HttpFunctionOptions,
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  LogLevel,
} from '@azure/functions';
import { ContainerClient } from '@azure/storage-blob';
import { FunctionDefinition } from '../functions/definition';
import { blobEventSubject } from '../shared/indexing/blobEvent';

/**
 * Runs function declarations the way the Azure Functions host does, on one machine: an HTTP server
 * for HTTP triggers, and a scan of the container for the BlobCreated events Event Grid would
 * deliver. It holds no business logic: every request and event goes to the declared handler.
 */
export interface LocalHostOptions {
  readonly definitions: readonly FunctionDefinition[];
  readonly port: number;
  /** Containers by name, for the blob event emulation. */
  readonly container: (name: string) => ContainerClient;
  readonly scanIntervalMs?: number;
  readonly log?: (line: string) => void;
}

export interface LocalHost {
  readonly url: string;
  readonly port: number;
  /** Runs one container scan now and waits for the handlers it starts. */
  scanOnce(): Promise<void>;
  close(): Promise<void>;
}

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

const MAX_ATTEMPTS = 5;

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const routes: Route[] = options.definitions.flatMap((definition) => {
    if (definition.kind !== 'http') return [];
    const { pattern, names } = compileRoute(definition.options.route ?? definition.name);
    const methods = new Set<string>(definition.options.methods ?? ['GET', 'POST']);
    return [{ pattern, names, methods, options: definition.options, name: definition.name }];
  });

  const server = createServer((req, res) => {
    handleHttp(routes, req, res, log).catch((error: Error) => {
      log(`http: ${req.method} ${req.url}: ${error.stack ?? error.message}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal error; see the host log.\n');
    });
  });
  const port = await listen(server, options.port);

  const scanner = new BlobEventScanner(options, log);
  const interval = setInterval(() => void scanner.scan(), options.scanIntervalMs ?? 1_000);
  void scanner.scan();

  return {
    url: `http://localhost:${port}`,
    port,
    scanOnce: () => scanner.scan(),
    async close() {
      clearInterval(interval);
      await scanner.idle();
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

function invocationContext(
  functionName: string,
  log: (line: string) => void,
  triggerMetadata = {},
) {
  return new InvocationContext({
    functionName,
    invocationId: crypto.randomUUID(),
    triggerMetadata,
    logHandler: (level: LogLevel, ...args: unknown[]) =>
      log(`${functionName} [${level}] ${args.map(String).join(' ')}`),
  });
}

async function handleHttp(
  routes: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
  log: (line: string) => void,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const path = rawUrl.replace(/[?#].*$/s, '');
  const method = req.method ?? 'GET';
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (!route.methods.has(method)) {
      res.writeHead(405, { Allow: [...route.methods].join(', ') }).end();
      return;
    }
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      params[name] = safeDecode(match[i + 1] ?? '');
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const body = method === 'GET' || method === 'HEAD' ? undefined : { bytes: await readBody(req) };
    const request = new HttpRequest({
      method,
      url: `http://${req.headers.host ?? 'localhost'}${rawUrl}`,
      headers,
      params,
      ...(body ? { body } : {}),
    });
    const response = await route.options.handler(request, invocationContext(route.name, log));
    await writeResponse(res, response, method === 'HEAD');
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('No such endpoint.\n');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
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

/** Turns new and replaced blobs into BlobCreated events, as the storage account's Event Grid does. */
class BlobEventScanner {
  private readonly seen = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: LocalHostOptions,
    private readonly log: (line: string) => void,
  ) {}

  scan(): Promise<void> {
    this.running ??= this.scanAll().finally(() => (this.running = undefined));
    return this.running;
  }

  async idle(): Promise<void> {
    await this.running;
  }

  private async scanAll(): Promise<void> {
    for (const definition of this.options.definitions) {
      if (definition.kind !== 'blobEvents') continue;
      try {
        await this.scanContainer(definition);
      } catch (error) {
        this.log(`${definition.name}: container scan failed: ${(error as Error).message}`);
      }
    }
  }

  private async scanContainer(definition: Extract<FunctionDefinition, { kind: 'blobEvents' }>) {
    const container = this.options.container(definition.container);
    for await (const blob of container.listBlobsFlat()) {
      const id = `${definition.name}\n${blob.name}`;
      const etag = blob.properties.etag;
      if (this.seen.get(id) === etag) continue;
      const event: EventGridEvent = {
        id: crypto.randomUUID(),
        topic: 'local',
        eventType: 'Microsoft.Storage.BlobCreated',
        subject: blobEventSubject(definition.container, blob.name),
        eventTime: new Date().toISOString(),
        dataVersion: '',
        metadataVersion: '1',
        data: {
          api: 'PutBlob',
          eTag: etag,
          contentLength: blob.properties.contentLength ?? 0,
          url: container.getBlobClient(blob.name).url,
          blobType: 'BlockBlob',
        },
      };
      try {
        await definition.options.handler(
          event,
          invocationContext(definition.name, this.log, event),
        );
        this.seen.set(id, etag);
        this.failures.delete(id);
      } catch (error) {
        // Event Grid retries a failed delivery a bounded number of times, and so do we.
        const attempts = (this.failures.get(id) ?? 0) + 1;
        this.failures.set(id, attempts);
        this.log(
          `${definition.name}: ${blob.name}: attempt ${attempts} failed: ${(error as Error).message}`,
        );
        if (attempts >= MAX_ATTEMPTS) this.seen.set(id, etag);
      }
    }
  }
}
