import { createServer, request, Agent } from 'node:http';
import { AddressInfo } from 'node:net';
import { startStack, Stack } from './stack';

export interface CountingProxy {
  readonly port: number;
  /** GET requests so far whose path starts with `prefix` ("/devstoreaccount1/packages/"). */
  gets(prefix: string): number;
  close(): Promise<void>;
}

/**
 * A plain HTTP proxy in front of one Azurite service that counts what passes: it tells how many
 * storage requests a symbol request makes, whichever client (the SDK, or a raw ranged read) makes
 * them.
 */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  const seen: { method: string; path: string }[] = [];
  const agent = new Agent({ keepAlive: true });
  const server = createServer((incoming, outgoing) => {
    seen.push({ method: incoming.method ?? '', path: incoming.url ?? '' });
    const forward = request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    gets: (prefix) => seen.filter((r) => r.method === 'GET' && r.path.startsWith(prefix)).length,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where the packages' blobs are read, as the proxy sees the path. */
const PACKAGE_READS = '/devstoreaccount1/packages/';

/** A stack whose blob reads go through a counting proxy. */
export interface CountedStack {
  readonly stack: Stack;
  /** A symbol request's status and body, and how many package reads it took. */
  get(key: string): Promise<{ status: number; body: Buffer; blobReads: number }>;
  stop(): Promise<void>;
}

export async function startCountedStack(env: Record<string, string>): Promise<CountedStack> {
  let proxy: CountingProxy | undefined;
  const stack = await startStack(env, {
    blobPort: async (port) => {
      proxy = await startCountingProxy(port);
      return proxy.port;
    },
  });
  const counter = proxy!;
  return {
    stack,
    async get(key) {
      const before = counter.gets(PACKAGE_READS);
      const response = await fetch(`${stack.symbols}/${key}`);
      const body = Buffer.from(await response.arrayBuffer());
      return { status: response.status, body, blobReads: counter.gets(PACKAGE_READS) - before };
    },
    async stop() {
      await stack.stop();
      await counter.close();
    },
  };
}
