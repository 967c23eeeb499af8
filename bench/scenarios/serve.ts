import { CpuSplit, cpuMeter } from '../support/cpu';
import { load, ttfb } from '../support/load';
import { Fixtures } from './fixtures';

export interface ServeCell {
  readonly mode: 'hot' | 'cold';
  readonly target: string;
  readonly connections: number;
  readonly requestsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  readonly failures: number;
  /** % of one core each process used during the autocannon run: symfeed, Azurite, load generator. */
  readonly cpu: CpuSplit;
}

export interface ServePlan {
  readonly connections: readonly number[];
  /** autocannon's run per cell; the TTFB pass that follows takes half as long. */
  readonly seconds: number;
}

/**
 * Hits on every small entry and misses, at each connection count, against one server: the hot
 * one (default caches, warmed) or the cold one (location and miss caches off).
 */
export async function serveScenario(
  mode: 'hot' | 'cold',
  baseUrl: string,
  fixtures: Fixtures,
  plan: ServePlan,
  pids: Record<string, number | undefined>,
  log: (line: string) => void,
): Promise<ServeCell[]> {
  const targets = [
    ...fixtures.small.map((entry) => ({ target: entry.id, path: entry.path, status: 200 })),
    { target: 'miss', path: fixtures.missPath, status: 404 },
  ];
  const cells: ServeCell[] = [];
  for (const { target, path, status } of targets) {
    const url = `${baseUrl}${path}`;
    // Hot means cached: one request fills the caches before anything is measured.
    if (mode === 'hot') await fetch(url).then((response) => response.arrayBuffer());
    for (const connections of plan.connections) {
      const options = { url, connections, expectStatus: status };
      const meter = cpuMeter(pids);
      const throughput = await load({ ...options, seconds: plan.seconds });
      const cpu = meter();
      const first = await ttfb({ ...options, seconds: plan.seconds / 2 });
      const cell: ServeCell = {
        mode,
        target,
        connections,
        requestsPerSecond: throughput.requestsPerSecond,
        megabytesPerSecond: throughput.megabytesPerSecond,
        latencyP50Ms: throughput.latencyP50Ms,
        latencyP99Ms: throughput.latencyP99Ms,
        ttfbP50Ms: first.ttfbP50Ms,
        ttfbP99Ms: first.ttfbP99Ms,
        failures: throughput.failures + first.failures,
        cpu,
      };
      log(
        `serve ${mode} ${target} c=${connections}: ${cell.requestsPerSecond.toFixed(0)} req/s, ` +
          `TTFB p50 ${cell.ttfbP50Ms.toFixed(2)} ms p99 ${cell.ttfbP99Ms.toFixed(2)} ms, CPU % ${JSON.stringify(cpu)}` +
          (cell.failures
            ? `, ${cell.failures} failures ${JSON.stringify(throughput.statuses)}`
            : ''),
      );
      cells.push(cell);
    }
  }
  return cells;
}
