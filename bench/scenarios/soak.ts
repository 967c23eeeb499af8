import autocannon from 'autocannon';
import { ServerProcess } from '../support/serverProcess';
import { Fixtures } from './fixtures';

export interface SoakPlan {
  /** Load before the resident set is first taken: caches fill, the heap finds its size. */
  readonly warmUpSeconds: number;
  /** Load after it, over which the resident set must stay flat. */
  readonly seconds: number;
  readonly connections: number;
}

export interface SoakResult {
  readonly seconds: number;
  readonly warmUpSeconds: number;
  readonly connections: number;
  readonly requests: number;
  /** Over the measured seconds, warm-up excluded. */
  readonly requestsPerSecond: number;
  /** Answers other than the one due (200 for hits, 404 for misses), socket errors, timeouts. */
  readonly errors: number;
  readonly statuses: Record<string, number>;
  /** Lowest RSS of the first and of the last TROUGH_SECONDS after warm-up, and its peak. */
  readonly rssAfterWarmUpMB: number;
  readonly rssEndMB: number;
  readonly rssPeakMB: number;
  readonly rssGrowthPercent: number;
  /** RSS once a second from the start of the load, in MiB. */
  readonly rssSamplesMB: readonly number[];
  /** The JavaScript heap in use at the same moments: what of the growth is objects kept. */
  readonly heapUsedSamplesMB: readonly number[];
  readonly heapGrowthPercent: number;
}

type Target = (n: number) => { path: string; status: number };

/** Long enough to hold a garbage collection: they came every 10-15 s under this load. */
const TROUGH_SECONDS = 15;

/**
 * One cycle of 40 requests, as a symbol server sees them: mostly small hits (held in memory) and
 * misses (debuggers probe many keys no package has), some of them keys never asked before (a
 * lookup in storage each), and a 1 MB hit, stored or deflated in turn (read and inflated from the
 * package each time; Azurite serves about 150 of those a second here, so more would measure it).
 */
function cycle(fixtures: Fixtures): Target[] {
  const entry = (id: string): Target => {
    const found = fixtures.small.find((e) => e.id === id);
    if (!found) throw new Error(`the fixtures have no ${id}`);
    return () => ({ path: found.path, status: 200 });
  };
  const [stored, deflated] = [entry('1m-stored'), entry('1m-deflated')];
  const large: Target = (n) => (Math.floor(n / 40) % 2 === 0 ? stored : deflated)(n);
  const miss: Target = () => ({ path: fixtures.missPath, status: 404 });
  const fresh: Target = (n) => ({
    path: fixtures.missPath.replace('bench-miss', `bench-soak-${n}`),
    status: 404,
  });
  const times = (count: number, target: Target) => Array<Target>(count).fill(target);
  return [
    ...times(12, entry('4k-stored')),
    ...times(12, entry('4k-deflated')),
    large,
    ...times(8, miss),
    ...times(7, fresh),
  ];
}

/**
 * Soak: mixed hits and misses at full speed for a while against one server, counting every answer
 * that is not the one due and taking the server's resident set once a second. A leak shows as
 * growth after warm-up; an error under sustained load shows at all.
 */
export async function soakScenario(
  server: ServerProcess,
  fixtures: Fixtures,
  plan: SoakPlan,
  log: (line: string) => void,
): Promise<SoakResult> {
  const requests = cycle(fixtures);
  let sent = 0;
  let unexpected = 0;
  let measuredFrom = 0;
  let measured = 0;
  const statuses: Record<string, number> = {};
  const rss: number[] = [];
  const heap: number[] = [];
  log(`soak: ${plan.warmUpSeconds} s warm-up and ${plan.seconds} s, c=${plan.connections}`);
  const instance = autocannon({
    url: server.url,
    connections: plan.connections,
    duration: plan.warmUpSeconds + plan.seconds,
    timeout: 10,
    requests: [
      {
        setupRequest: (request, context) => {
          // autocannon clears the context as it loops over its requests: the count lives here.
          const n = sent++;
          const target = (requests[n % requests.length] as Target)(n);
          context.expect = target.status;
          return { ...request, path: target.path };
        },
        onResponse: (status, _body, context) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status !== context.expect) unexpected++;
          if (measuredFrom) measured++;
        },
      },
    ],
  });
  const started = Date.now();
  const sampler = setInterval(() => {
    rss.push(server.memory().rssMB);
    void server.heapUsedMB().then((mb) => heap.push(mb));
    if (!measuredFrom && Date.now() - started >= plan.warmUpSeconds * 1000)
      measuredFrom = Date.now();
  }, 1000);
  const result = await instance;
  clearInterval(sampler);
  const measuredSeconds = (Date.now() - measuredFrom) / 1000;

  // The troughs, the lowest of the first and of the last 15 s after warm-up: the heap rises and
  // falls by tens of MB between collections, and what a collection leaves is what is kept.
  const growth = (samples: readonly number[]) => {
    const measuredSamples = samples.slice(plan.warmUpSeconds);
    const warm = Math.min(...measuredSamples.slice(0, TROUGH_SECONDS));
    const end = Math.min(...measuredSamples.slice(-TROUGH_SECONDS));
    return { warm, end, percent: ((end - warm) / warm) * 100 };
  };
  const rssGrowth = growth(rss);
  const rssAfterWarmUpMB = rssGrowth.warm;
  const rssEndMB = rssGrowth.end;
  const soak: SoakResult = {
    seconds: plan.seconds,
    warmUpSeconds: plan.warmUpSeconds,
    connections: plan.connections,
    requests: result.requests.total,
    requestsPerSecond: measured / measuredSeconds,
    errors: unexpected + result.errors + result.timeouts,
    statuses,
    rssAfterWarmUpMB,
    rssEndMB,
    rssPeakMB: Math.max(...rss.slice(plan.warmUpSeconds)),
    rssGrowthPercent: rssGrowth.percent,
    rssSamplesMB: rss,
    heapUsedSamplesMB: heap,
    heapGrowthPercent: growth(heap).percent,
  };
  log(
    `soak: ${soak.requestsPerSecond.toFixed(0)} req/s, ${soak.errors} errors ${JSON.stringify(statuses)}, ` +
      `RSS ${rssAfterWarmUpMB.toFixed(0)} -> ${rssEndMB.toFixed(0)} MB (${soak.rssGrowthPercent.toFixed(1)} %), ` +
      `heap used ${soak.heapGrowthPercent.toFixed(1)} %`,
  );
  return soak;
}
