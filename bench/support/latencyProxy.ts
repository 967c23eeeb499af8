import http from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AzuritePorts, azuriteConnectionString } from '../../shared/storage/connection';
import { percentile } from './stats';

export type StorageService = keyof AzuritePorts;
const SERVICES: readonly StorageService[] = ['blob', 'queue', 'table'];
/** Point reads of the feeds and tokens tables, as Azurite's path-style URLs name them. */
const SETTINGS_TABLES = /^\/[^/]+\/(?:feeds|tokens)\(/;

/**
 * Azure's latency on loopback: one HTTP proxy per Azurite service that holds each response's
 * headers back by `latencyMs` and counts the requests, so that a figure shows how many storage
 * round trips a symfeed request waits for.
 */
export interface LatencyProxy {
  readonly latencyMs: number;
  /** Azurite's connection string with every endpoint on the proxy. */
  readonly connectionString: string;
  /** The URL of a blob of Azurite's, through the proxy. */
  blobUrl(direct: string): string;
  /** Requests each service received since the last reset. */
  counts(): Record<StorageService, number>;
  /** All of them. */
  total(): number;
  /**
   * Reads of feed settings and tokens (the feeds and tokens tables): symfeed re-reads those it
   * uses in the background, ahead of their expiry, so no request waits on them; a request that
   * happens to start one is not slowed by it.
   */
  settingsReads(): number;
  /** The requests a symbol request waits on: all but the settings reads. */
  onPath(): number;
  reset(): void;
  /**
   * Median of the delays actually added since the last reset: timers fire late by a fraction of
   * a millisecond, which is the model's, not symfeed's.
   */
  appliedDelayP50Ms(): number;
  close(): Promise<void>;
}

export async function startLatencyProxy(
  azurite: AzuritePorts,
  latencyMs: number,
): Promise<LatencyProxy> {
  const counts: Record<StorageService, number> = { blob: 0, queue: 0, table: 0 };
  let settings = 0;
  let delays: number[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const servers = SERVICES.map((service) =>
    http.createServer((request, response) => {
      counts[service]++;
      if (service === 'table' && SETTINGS_TABLES.test(request.url ?? '')) settings++;
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: azurite[service],
          method: request.method,
          path: request.url,
          headers: request.headers,
          agent,
        },
        (answer) => {
          const held = performance.now();
          setTimeout(() => {
            delays.push(performance.now() - held);
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          }, latencyMs);
        },
      );
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    }),
  );
  const listening = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve) =>
          server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
        ),
    ),
  );
  const ports: AzuritePorts = {
    blob: listening[0] as number,
    queue: listening[1] as number,
    table: listening[2] as number,
  };
  return {
    latencyMs,
    connectionString: azuriteConnectionString(ports),
    blobUrl: (direct) => {
      const url = new URL(direct);
      url.port = String(ports.blob);
      return url.toString();
    },
    counts: () => ({ ...counts }),
    total: () => counts.blob + counts.queue + counts.table,
    settingsReads: () => settings,
    onPath: () => counts.blob + counts.queue + counts.table - settings,
    reset: () => {
      for (const service of SERVICES) counts[service] = 0;
      settings = 0;
      delays = [];
    },
    appliedDelayP50Ms: () => percentile(delays, 50),
    close: async () => {
      agent.destroy();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}
