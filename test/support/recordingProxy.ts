import http, { IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';

export interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly request: IncomingHttpHeaders;
  readonly status: number;
  readonly response: IncomingHttpHeaders;
}

export interface RecordingProxy {
  readonly url: string;
  /** Every request passed on, with the headers it went with and came back with. */
  readonly exchanges: Exchange[];
  stop(): Promise<void>;
}

/**
 * A plain HTTP proxy in front of `target` that records headers both ways, so a test can tell what
 * a real client (debuginfod-find, gdb) asked for and got, or how many storage requests a symbol
 * request made whichever client made them (the SDK, or a raw ranged read), bytes untouched.
 */
export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    const forwarded = http.request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (upstream) => {
        exchanges.push({
          method: req.method ?? '',
          path: req.url ?? '/',
          request: req.headers,
          status: upstream.statusCode ?? 0,
          response: upstream.headers,
        });
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
