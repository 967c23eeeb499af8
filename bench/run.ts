import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { debuginfodScenario, DebuginfodResult } from './scenarios/debuginfod';
import { FEED, publishFixtures } from './scenarios/fixtures';
import { INDEX_FEED, indexingScenario } from './scenarios/indexing';
import { rawScenario } from './scenarios/raw';
import { scaleScenario } from './scenarios/scale';
import { serveScenario, ServeCell } from './scenarios/serve';
import { soakScenario } from './scenarios/soak';
import { childPid } from './support/cpu';
import { machine } from './support/machine';
import { LATEST_JSON, ROOT } from './support/paths';
import { Figure, figuresTable, fmt, met, table } from './support/report';
import { startServer, ServerProcess } from './support/serverProcess';
import { MB, round } from './support/stats';
import { startBenchStorage } from './support/storage';

/**
 * `npm run bench [-- --quick] [-- --profile]`: starts a private Azurite and symfeed servers as
 * child processes, drives them from this process, prints a table and writes bench/latest.json.
 * --quick runs the same scenarios smaller and shorter (under 5 minutes); --profile writes a V8
 * CPU profile of every server to bench/profiles/.
 */
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const profileDir = args.has('--profile') ? path.join(ROOT, 'bench', 'profiles') : undefined;

const PLAN = quick
  ? {
      connections: [1, 16, 64],
      seconds: 1.5,
      downloads: 2,
      smallEntries: 10_000,
      largeBytes: 200 * MB,
      scaleKeys: 100_000,
      scaleSeconds: 4,
      peerSeconds: 4,
      // The soak keeps its full length: memory growth needs the minute to show.
      soak: { warmUpSeconds: 10, seconds: 60, connections: 16 },
    }
  : {
      connections: [1, 16, 64],
      seconds: 10,
      downloads: 5,
      smallEntries: 10_000,
      largeBytes: 2048 * MB,
      scaleKeys: 1_000_000,
      scaleSeconds: 10,
      peerSeconds: 10,
      soak: { warmUpSeconds: 10, seconds: 60, connections: 16 },
    };

const begun = performance.now();
function log(line: string): void {
  process.stderr.write(
    `[${((performance.now() - begun) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
  );
}

async function main(): Promise<void> {
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(`symfeed bench${quick ? ' --quick' : ''}: starting Azurite`);
  const storage = await startBenchStorage([FEED, INDEX_FEED]);
  const servers: ServerProcess[] = [];
  const start = async (name: string, roles: 'all' | 'http', env: Record<string, string> = {}) => {
    const server = await startServer({
      name,
      storage: storage.connectionString,
      roles,
      env,
      profileDir,
    });
    servers.push(server);
    return server;
  };
  try {
    // Hot: the default caches; it also indexes the fixtures. Cold: location and miss caches off.
    const hot = await start('hot', 'all');
    const cold = await start('cold', 'http', {
      SYMFEED_LOCATION_CACHE_SECONDS: '0',
      SYMFEED_MISS_CACHE_SECONDS: '0',
    });
    const fixtures = await publishFixtures(storage, log);
    const plan = { connections: PLAN.connections, seconds: PLAN.seconds };

    const azurite = childPid('azurite');
    const pids = (server: ServerProcess) => ({
      symfeed: server.pid,
      azurite,
      loadgen: process.pid,
    });
    const serveHot = await serveScenario('hot', hot.url, fixtures, plan, pids(hot), log);
    const serveCold = await serveScenario('cold', cold.url, fixtures, plan, pids(cold), log);
    const raw = await rawScenario(
      storage,
      cold.url,
      fixtures,
      serveCold,
      { seconds: PLAN.seconds, downloads: PLAN.downloads },
      log,
    );
    const peer = await debuginfodScenario(hot.url, fixtures.debugFiles, PLAN.peerSeconds, log);
    const soak = await soakScenario(hot, fixtures, PLAN.soak, log);

    // The hot server indexes too: stop it so that only the indexer under test sees new packages.
    await hot.stop();
    const indexing = await indexingScenario(
      storage,
      { smallEntries: PLAN.smallEntries, largeBytes: PLAN.largeBytes },
      (name) => start(name, 'all'),
      log,
    );

    const target = fixtures.servePackage.keys.find((k) => k.location.entry === 'lib/4k-stored.bin');
    if (!target) throw new Error('the serve package has no key for lib/4k-stored.bin');
    const scale = await scaleScenario(
      storage,
      cold.url,
      target,
      { smallKeys: 1_000, largeKeys: PLAN.scaleKeys, seconds: PLAN.scaleSeconds },
      log,
    );

    const rps = serveHot.find((c) => c.target === '4k-stored' && c.connections === 16);
    const ttfbWorst = [...raw.ttfb].sort((a, b) => (b.ratio ?? 0) - (a.ratio ?? 0))[0];
    const throughputWorst = [...raw.throughput].sort((a, b) => (a.ratio ?? 0) - (b.ratio ?? 0))[0];
    const figures: Figure[] = [
      {
        name: `requestsPerSecond (4k-stored, hot, c=16)`,
        value: rps?.requestsPerSecond ?? null,
        unit: 'req/s',
        baseline: raw.rawSmallRequestsPerSecond,
        baselineLabel: 'req/s raw blob',
        measured: rps?.requestsPerSecond ?? null,
        aim: { op: '>=', limit: 1000 },
      },
      {
        name: `ttfbRatioVsRawBlob (cold p50, c=1, worst: ${ttfbWorst?.target})`,
        value: ttfbWorst?.symfeedColdTtfbP50Ms ?? null,
        unit: 'ms',
        baseline: ttfbWorst?.rawTtfbP50Ms ?? null,
        baselineLabel: 'ms raw blob',
        measured: raw.ttfbRatioVsRawBlob,
        aim: { op: '<=', limit: 1.3 },
      },
      {
        name: `throughputRatioVsRawBlob (worst: ${throughputWorst?.target})`,
        value: throughputWorst?.symfeedMBps ?? null,
        unit: 'MB/s',
        baseline: throughputWorst?.rawMBps ?? null,
        baselineLabel: 'MB/s raw blob',
        measured: raw.throughputRatioVsRawBlob,
        aim: { op: '>=', limit: 0.8 },
      },
      {
        name: 'vsDebuginfod.rpsRatio (hot, c=16)',
        value: peer.symfeed.requestsPerSecond,
        unit: 'req/s',
        baseline: peer.debuginfod?.requestsPerSecond ?? null,
        baselineLabel: 'req/s debuginfod',
        measured: peer.rpsRatio,
        aim: { op: '>=', limit: 1 },
      },
      {
        name: 'vsDebuginfod.p99Ratio (hot, c=16)',
        value: peer.symfeed.latencyP99Ms,
        unit: 'ms',
        baseline: peer.debuginfod?.latencyP99Ms ?? null,
        baselineLabel: 'ms debuginfod',
        measured: peer.p99Ratio,
        aim: { op: '<=', limit: 1 },
      },
      {
        name: `soak.requestsPerSecond (${soak.seconds} s, hits and misses, hot, c=${soak.connections})`,
        value: soak.requestsPerSecond,
        unit: 'req/s',
        baseline: null,
        baselineLabel: '',
        measured: soak.requestsPerSecond,
        aim: { op: '>=', limit: 1000 },
      },
      {
        name: `soak.errors (${soak.requests} requests)`,
        value: soak.errors,
        unit: '',
        baseline: null,
        baselineLabel: '',
        measured: soak.errors,
        aim: { op: '<=', limit: 0 },
      },
      {
        name: `soak.rssGrowthPercent (lowest RSS, end vs after ${soak.warmUpSeconds} s warm-up)`,
        value: soak.rssEndMB,
        unit: 'MB',
        baseline: soak.rssAfterWarmUpMB,
        baselineLabel: 'MB after warm-up (lowest)',
        measured: soak.rssGrowthPercent,
        aim: { op: '<', limit: 10 },
      },
      {
        name: `indexKeysPerSecond (${indexing.small.keys} small entries)`,
        value: indexing.small.keysPerSecond,
        unit: 'keys/s',
        baseline: null,
        baselineLabel: '',
        measured: indexing.small.keysPerSecond,
        aim: { op: '>=', limit: 5000 },
      },
      {
        name: `indexPeakRssMB (${fmt(indexing.large.bytes / MB, 0)} MB package)`,
        value: indexing.large.peakRssMB,
        unit: 'MB',
        baseline: indexing.large.idleRssMB,
        baselineLabel: 'MB idle server',
        measured: indexing.large.peakRssMB,
        aim: { op: '<=', limit: 300 },
      },
      {
        name: `scaleP99Ratio (${fmt(scale.largeKeys)} vs ${fmt(scale.smallKeys)} keys, cold, c=16)`,
        value: scale.large.latencyP99Ms,
        unit: 'ms',
        baseline: scale.small.latencyP99Ms,
        baselineLabel: 'ms at 1,000 keys',
        measured: scale.scaleP99Ratio,
        aim: { op: '<=', limit: 1.2 },
      },
    ];

    const report = {
      quick,
      date: new Date().toISOString(),
      machine: machine(),
      durationSeconds: round((performance.now() - begun) / 1000, 0),
      requestsPerSecond: round(rps?.requestsPerSecond ?? null, 0),
      ttfbRatioVsRawBlob: round(raw.ttfbRatioVsRawBlob),
      throughputRatioVsRawBlob: round(raw.throughputRatioVsRawBlob),
      vsDebuginfod: { rpsRatio: round(peer.rpsRatio), p99Ratio: round(peer.p99Ratio) },
      indexKeysPerSecond: round(indexing.small.keysPerSecond, 0),
      indexPeakRssMB: round(indexing.large.peakRssMB, 0),
      scaleP99Ratio: round(scale.scaleP99Ratio),
      soak: {
        requestsPerSecond: round(soak.requestsPerSecond, 0),
        errors: soak.errors,
        rssGrowthPercent: round(soak.rssGrowthPercent, 1),
      },
      aims: Object.fromEntries(
        figures.map((f) => [
          f.name.split(' ')[0],
          { aim: `${f.aim.op} ${f.aim.limit}`, met: met(f) },
        ]),
      ),
      details: {
        serve: [...serveHot, ...serveCold],
        raw: {
          ttfb: raw.ttfb,
          throughput: raw.throughput,
          rawSmallRequestsPerSecond: raw.rawSmallRequestsPerSecond,
        },
        debuginfod: peerDetails(peer),
        soak,
        indexing,
        scale: {
          smallKeys: scale.smallKeys,
          largeKeys: scale.largeKeys,
          seedSeconds: scale.seedSeconds,
          small: scale.small,
          large: scale.large,
        },
      },
    };
    writeFileSync(LATEST_JSON, `${JSON.stringify(report, roundReplacer, 2)}\n`);

    const m = report.machine;
    console.log(`\nsymfeed bench${quick ? ' --quick' : ''}, ${report.date}`);
    console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.os}\n`);
    console.log(figuresTable(figures));
    console.log(`\nserve (TTFB from a separate pass; latency = whole response)\n`);
    console.log(serveTable([...serveHot, ...serveCold]));
    console.log(`\nindexing\n`);
    console.log(
      table(
        ['package', 'MB', 'entries', 'keys', 's', 'keys/s', 'MB/s', 'peak RSS MB', 'idle RSS MB'],
        [indexing.small, indexing.large].map((r) => [
          r.package,
          fmt(r.bytes / MB, 0),
          fmt(r.entries, 0),
          fmt(r.keys, 0),
          fmt(r.seconds, 1),
          fmt(r.keysPerSecond, 0),
          fmt(r.megabytesPerSecond, 1),
          fmt(r.peakRssMB, 0),
          fmt(r.idleRssMB, 0),
        ]),
      ),
    );
    console.log(
      `\nwritten to ${path.relative(process.cwd(), LATEST_JSON)}${profileDir ? `; CPU profiles in ${profileDir}` : ''}`,
    );
  } finally {
    for (const server of servers) await server.stop();
    await storage.azurite.stop();
  }
}

function serveTable(cells: readonly ServeCell[]): string {
  return table(
    [
      'mode',
      'target',
      'conns',
      'req/s',
      'MB/s',
      'TTFB p50 ms',
      'TTFB p99 ms',
      'latency p50 ms',
      'latency p99 ms',
      'CPU % symfeed/azurite/load',
      'failures',
    ],
    cells.map((c) => [
      c.mode,
      c.target,
      String(c.connections),
      fmt(c.requestsPerSecond, 0),
      fmt(c.megabytesPerSecond, 1),
      fmt(c.ttfbP50Ms),
      fmt(c.ttfbP99Ms),
      fmt(c.latencyP50Ms),
      fmt(c.latencyP99Ms),
      `${c.cpu.symfeed}/${c.cpu.azurite}/${c.cpu.loadgen}`,
      String(c.failures),
    ]),
  );
}

function peerDetails(peer: DebuginfodResult) {
  return {
    missing: peer.missing,
    note: peer.note,
    symfeed: peer.symfeed,
    debuginfod: peer.debuginfod,
  };
}

/** Three decimals are plenty for any measured figure in the JSON. */
function roundReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value)
    ? Math.round(value * 1000) / 1000
    : value;
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
