import autocannon from 'autocannon';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats';

export interface LoadResult {
  readonly requestsPerSecond: number;
  /** Time to the whole response, in ms, from autocannon's per-request timings. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly megabytesPerSecond: number;
  readonly requests: number;
  /** Responses with another status than expected, socket errors and timeouts. */
  readonly failures: number;
  readonly statuses: Record<string, number>;
}

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /** Paths cycled through per connection; default: the URL's own path. */
  readonly paths?: readonly string[];
  /** Picks a path per request (for random keys); overrides `paths`. */
  readonly pickPath?: () => string;
  readonly expectStatus?: number;
  /** Sent with every request (an Authorization header, say). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Called as `ttfb` writes each request; what it returns is called at that response's headers (to
 * count what the server did before its first byte, say).
 */
export type RequestProbe = () => () => void;

/**
 * Requests/s and latency with autocannon, run from this process: the server under test is
 * always another process. Latency percentiles come from autocannon's per-response timings
 * (fractions of a millisecond), not from its histogram, which keeps whole milliseconds only.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const expect = options.expectStatus ?? 200;
  let unexpected = 0;
  const requests = options.pickPath
    ? [
        {
          setupRequest: (request: { path?: string }) => ({
            ...request,
            path: (options.pickPath as () => string)(),
          }),
        },
      ]
    : options.paths?.map((path) => ({ path }));
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 30,
    ...(requests ? { requests } : {}),
    ...(options.headers ? { headers: { ...options.headers } } : {}),
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, time: number) => {
    latencies.push(time);
    if (status !== expect) unexpected++;
  });
  const result = await instance;
  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  return {
    requestsPerSecond: latencies.length / result.duration,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    megabytesPerSecond: result.throughput.total / result.duration / 1024 / 1024,
    requests: latencies.length,
    failures: unexpected + result.errors + result.timeouts,
    statuses,
  };
}

export interface TtfbResult {
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  readonly requests: number;
  readonly failures: number;
}

/**
 * Time to first byte: from writing the request to the arrival of the response headers, over
 * keep-alive connections. autocannon reports only the time to the last byte, which for a 1 MB
 * body says more about bandwidth than about how soon the server answers.
 */
export async function ttfb(
  options: LoadOptions & {
    readonly probe?: RequestProbe;
    /** Requests made however long they take (a 100 MB body each, say): a p50 needs a few. */
    readonly minRequests?: number;
  },
): Promise<TtfbResult> {
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const samples: number[] = [];
  const expect = options.expectStatus ?? 200;
  let failures = 0;
  let started = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const going = () => performance.now() < deadline || started < (options.minRequests ?? 0);
  const paths = options.paths ?? [target.pathname + target.search];
  const one = (path: string) =>
    new Promise<void>((resolve) => {
      started++;
      const probed = options.probe?.();
      const start = performance.now();
      const request = http.get(
        { host: target.hostname, port: target.port, path, agent, headers: options.headers },
        (response) => {
          samples.push(performance.now() - start);
          probed?.();
          if (response.statusCode !== expect) failures++;
          response.resume();
          response.on('end', resolve);
          response.on('error', () => (failures++, resolve()));
        },
      );
      request.on('error', () => (failures++, resolve()));
    });
  await Promise.all(
    Array.from({ length: options.connections }, async (_, worker) => {
      for (let i = worker; going(); i++) {
        await one(options.pickPath?.() ?? (paths[i % paths.length] as string));
      }
    }),
  );
  agent.destroy();
  return {
    ttfbP50Ms: percentile(samples, 50),
    ttfbP99Ms: percentile(samples, 99),
    requests: samples.length,
    failures,
  };
}

export interface Download {
  /** MiB of the body as sent (compressed, for a gzip answer) per second. */
  readonly megabytesPerSecond: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly ttfbMs: number;
  readonly status: number;
  readonly contentEncoding: string | undefined;
}

/** Streams one URL to the end over a fresh connection and returns MiB/s and time to first byte. */
export function download(
  url: string,
  headers?: Readonly<Record<string, string>>,
): Promise<Download> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    http
      .get(url, { headers }, (response) => {
        const ttfbMs = performance.now() - start;
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () => {
          const seconds = (performance.now() - start) / 1000;
          resolve({
            megabytesPerSecond: bytes / seconds / 1024 / 1024,
            bytes,
            seconds,
            ttfbMs,
            status: response.statusCode ?? 0,
            contentEncoding: response.headers['content-encoding'],
          });
        });
        response.on('error', reject);
      })
      .on('error', reject);
  });
}
