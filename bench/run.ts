import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { debuginfodScenario, DebuginfodResult } from './scenarios/debuginfod';
import { bytesScenario } from './scenarios/bytes';
import { FEED, publishFixtures } from './scenarios/fixtures';
import { INDEX_FEED, indexingScenario } from './scenarios/indexing';
import {
  COLD_ENV,
  INLINE_LIMIT_BYTES,
  LatencyClass,
  latencyAims,
  latencyScenario,
} from './scenarios/latency';
import { privateScenario } from './scenarios/private';
import { BURST_CONNECTIONS, rawScenario } from './scenarios/raw';
import { nugetScenario } from './scenarios/nuget';
import { scaleScenario } from './scenarios/scale';
import { serveScenario, ServeCell } from './scenarios/serve';
import { soakScenario } from './scenarios/soak';
import { childPid } from './support/cpu';
import { startLatencyProxy } from './support/latencyProxy';
import { codeVersion } from './support/codeVersion';
import { machine } from './support/machine';
import { BenchReport, markdownTables } from './support/markdown';
import { LATEST_JSON, LATEST_RUN_JSON, ROOT } from './support/paths';
import { Figure, figureKey, figuresTable, fmt, met, table } from './support/report';
import { startServer, ServerProcess } from './support/serverProcess';
import { MB, ratio, round } from './support/stats';
import { startBenchStorage } from './support/storage';

/**
 * `npm run bench [-- --quick] [-- --profile] [-- --storage-latency <ms>]`: starts a private
 * Azurite and symfeed servers as child processes, drives them from this process, prints a table
 * and writes bench/latest.json (and latest-quick.json or latest-full.json). --quick runs the same
 * scenarios smaller and shorter (under 5 minutes); --profile writes a V8 CPU profile of every
 * server to bench/profiles/; --storage-latency sets the latency model's delay per storage
 * response (default 5 ms). `npm run bench -- --table` runs nothing and prints the markdown table
 * of the last quick and full runs.
 */
const argv = process.argv.slice(2);
const args = new Set(argv);
const quick = args.has('--quick');
const profileDir = args.has('--profile') ? path.join(ROOT, 'bench', 'profiles') : undefined;
const storageLatencyMs = latencyArgument(argv);

function latencyArgument(list: readonly string[]): number {
  const at = list.indexOf('--storage-latency');
  if (at < 0) return 5;
  const value = Number(list[at + 1]);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error('--storage-latency takes a number of milliseconds, 0 or more');
  }
  return value;
}

const PLAN = quick
  ? {
      connections: [1, 16, 64],
      seconds: 1.5,
      downloads: 2,
      latencySeconds: 1,
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
      latencySeconds: 5,
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
  if (args.has('--table')) {
    const runs = (['quick', 'full'] as const).flatMap((kind) =>
      existsSync(LATEST_RUN_JSON[kind])
        ? [JSON.parse(readFileSync(LATEST_RUN_JSON[kind], 'utf8')) as BenchReport]
        : [],
    );
    if (runs.length === 0) throw new Error('no bench/latest-quick.json or latest-full.json yet');
    console.log(markdownTables(runs));
    return;
  }
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  // Read before the run: the code measured is the code built when it began.
  const code = codeVersion();
  log(`symfeed bench${quick ? ' --quick' : ''} of ${code ?? 'code outside git'}: starting Azurite`);
  const storage = await startBenchStorage([FEED, INDEX_FEED]);
  const servers: ServerProcess[] = [];
  const start = async (
    name: string,
    roles: 'all' | 'http',
    env: Record<string, string> = {},
    connectionString = storage.connectionString,
  ) => {
    const server = await startServer({
      name,
      storage: connectionString,
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
    const bytes = await bytesScenario(
      storage,
      cold.url,
      fixtures,
      raw.throughput,
      PLAN.downloads,
      log,
    );
    const privateFeed = await privateScenario(
      hot.url,
      fixtures,
      { connections: 16, seconds: PLAN.seconds },
      log,
    );
    const proxy = await startLatencyProxy(storage.ports, storageLatencyMs);
    const latencyServer = await start('latency', 'http', COLD_ENV, proxy.connectionString);
    const latency = await latencyScenario(
      proxy,
      latencyServer,
      fixtures,
      PLAN.latencySeconds,
      log,
    ).finally(async () => {
      await latencyServer.stop();
      await proxy.close();
    });
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
    // Quick too: the seed's 100,000 packages are materialised listings, written in about a minute.
    const nuget = await nugetScenario(
      storage,
      cold.url,
      {
        smallPackages: 1_000,
        largePackages: 100_000,
        bigIdVersions: 6_000,
        seconds: PLAN.scaleSeconds,
        tableRows: false,
      },
      log,
    );

    const rps = serveHot.find((c) => c.target === '4k-stored' && c.connections === 16);
    const ttfbWorst = [...raw.ttfb].sort((a, b) => (b.ratio ?? 0) - (a.ratio ?? 0))[0];
    const throughputWorst = [...raw.throughput].sort((a, b) => (a.ratio ?? 0) - (b.ratio ?? 0))[0];
    const burst = serveHot
      .filter((c) => c.connections === BURST_CONNECTIONS && c.target.startsWith('1m-'))
      .sort((a, b) => a.megabytesPerSecond - b.megabytesPerSecond);
    const burstWorst = burst[0];
    const burstRatio = ratio(burstWorst?.megabytesPerSecond, raw.rawBurstMegabytesPerSecond);
    const inline = latency.classes.filter((c) => c.size <= INLINE_LIMIT_BYTES);
    const above = latency.classes.filter((c) => c.size > INLINE_LIMIT_BYTES);
    const most = (classes: readonly LatencyClass[], pick: (c: LatencyClass) => number | null) =>
      [...classes].sort((a, b) => (pick(b) ?? Infinity) - (pick(a) ?? Infinity))[0];
    const latencyRatioWorst = most(inline, (c) => c.ratio);
    const tripsInline = most(inline, (c) => c.roundTripsPerHit);
    const tripsAbove = most(above, (c) => c.roundTripsPerHit);
    const overheadWorst = most(latency.classes, (c) => c.overheadMs);
    const figures: Figure[] = [
      {
        regime: 'loopback',
        name: `requestsPerSecond (4k-stored, hot, c=16)`,
        value: rps?.requestsPerSecond ?? null,
        unit: 'req/s',
        baseline: raw.rawSmallRequestsPerSecond,
        baselineLabel: 'req/s raw blob',
        measured: rps?.requestsPerSecond ?? null,
        aim: { op: '>=', limit: 1000 },
      },
      {
        regime: 'loopback',
        name: `ttfbRatioVsRawBlob (cold p50, c=1, worst: ${ttfbWorst?.target})`,
        value: ttfbWorst?.symfeedColdTtfbP50Ms ?? null,
        unit: 'ms',
        baseline: ttfbWorst?.rawTtfbP50Ms ?? null,
        baselineLabel: 'ms raw blob',
        measured: raw.ttfbRatioVsRawBlob,
        aim: { op: '<=', limit: 1.3 },
      },
      {
        regime: 'loopback',
        name: `throughputRatioVsRawBlob (worst: ${throughputWorst?.target})`,
        value: throughputWorst?.symfeedMBps ?? null,
        unit: 'MB/s',
        baseline: throughputWorst?.rawMBps ?? null,
        baselineLabel: 'MB/s raw blob',
        measured: raw.throughputRatioVsRawBlob,
        aim: { op: '>=', limit: 0.8 },
      },
      {
        regime: 'loopback',
        name: `gzipThroughputRatioVsRawBlob (100m-deflated, Accept-Encoding: gzip)`,
        value: bytes.gzip.symfeedMBps,
        unit: 'MB/s',
        baseline: bytes.gzip.rawMBps,
        baselineLabel: 'MB/s raw blob',
        measured: bytes.gzip.ratio,
        aim: { op: '>=', limit: 0.8 },
      },
      {
        regime: 'loopback',
        name: `inflateRatioVsZlib (100m-deflated, identity)`,
        value: bytes.inflate.symfeedMBps,
        unit: 'MB/s',
        baseline: bytes.inflate.zlibMBps,
        baselineLabel: 'MB/s zlib.inflateRawSync',
        measured: bytes.inflate.ratio,
        aim: { op: '>=', limit: 0.8 },
      },
      {
        regime: 'loopback',
        name: `crcCostPercent (zlib.crc32 of 100 MB / symfeed streaming it, worst)`,
        value: bytes.crc[0]?.crcMs ?? null,
        unit: 'ms',
        baseline: Math.min(...bytes.crc.map((c) => c.streamMs)),
        baselineLabel: 'ms streaming',
        measured: bytes.crcCostPercent,
        aim: { op: '<=', limit: 5 },
      },
      {
        regime: 'loopback',
        name: `burstMBps (hot 1 MB entries, c=${BURST_CONNECTIONS}, worst: ${burstWorst?.target})`,
        value: burstWorst?.megabytesPerSecond ?? null,
        unit: 'MB/s',
        baseline: raw.rawBurstMegabytesPerSecond,
        baselineLabel: 'MB/s raw blob',
        measured: burstWorst?.megabytesPerSecond ?? null,
      },
      {
        regime: 'loopback',
        name: `burstRatioVsRawBlob (hot 1 MB entries / raw 1 MB blob, c=${BURST_CONNECTIONS})`,
        value: burstWorst?.megabytesPerSecond ?? null,
        unit: 'MB/s',
        baseline: raw.rawBurstMegabytesPerSecond,
        baselineLabel: 'MB/s raw blob',
        measured: burstRatio,
      },
      {
        regime: 'loopback',
        name: `privateRpsRatio (4k-stored, Bearer token / public, hot, c=${privateFeed.connections})`,
        value: privateFeed.private.requestsPerSecond,
        unit: 'req/s',
        baseline: privateFeed.public.requestsPerSecond,
        baselineLabel: 'req/s public feed',
        measured: privateFeed.privateRpsRatio,
        aim: { op: '>=', limit: 0.9 },
      },
      {
        regime: 'latency',
        name: `latencyModel.ttfbRatioVsRawBlob (cold p50, c=1, worst up to ${INLINE_LIMIT_BYTES / 1024} KiB: ${latencyRatioWorst?.target})`,
        value: latencyRatioWorst?.symfeedTtfbP50Ms ?? null,
        unit: 'ms',
        baseline: latencyRatioWorst?.rawTtfbP50Ms ?? null,
        baselineLabel: 'ms raw blob',
        measured: latencyRatioWorst?.ratio ?? null,
        aim: { op: '<=', limit: 1.3 },
      },
      {
        regime: 'latency',
        key: 'latencyModel.storageRoundTripsPerColdHit.inline',
        name: `latencyModel.storageRoundTripsPerColdHit (most up to ${INLINE_LIMIT_BYTES / 1024} KiB: ${tripsInline?.target})`,
        value: tripsInline?.roundTripsPerHit ?? null,
        unit: '',
        baseline: null,
        baselineLabel: '',
        measured: tripsInline?.roundTripsPerHit ?? null,
        aim: { op: '<=', limit: 1 },
      },
      {
        regime: 'latency',
        key: 'latencyModel.storageRoundTripsPerColdHit.above',
        name: `latencyModel.storageRoundTripsPerColdHit (most above ${INLINE_LIMIT_BYTES / 1024} KiB: ${tripsAbove?.target})`,
        value: tripsAbove?.roundTripsPerHit ?? null,
        unit: '',
        baseline: null,
        baselineLabel: '',
        measured: tripsAbove?.roundTripsPerHit ?? null,
        aim: { op: '<=', limit: 2 },
      },
      {
        regime: 'latency',
        name: `latencyModel.overheadMs (TTFB - TTFB of the same storage requests made directly, worst: ${overheadWorst?.target})`,
        value: overheadWorst?.symfeedTtfbP50Ms ?? null,
        unit: 'ms TTFB',
        baseline: overheadWorst?.storageOnlyTtfbP50Ms ?? null,
        baselineLabel: 'ms storage alone',
        measured: overheadWorst?.overheadMs ?? null,
        aim: { op: '<=', limit: 0.5 },
      },
      {
        regime: 'loopback',
        name: 'vsDebuginfod.rpsRatio (hot, c=16)',
        value: peer.symfeed.requestsPerSecond,
        unit: 'req/s',
        baseline: peer.debuginfod?.requestsPerSecond ?? null,
        baselineLabel: 'req/s debuginfod',
        measured: peer.rpsRatio,
        aim: { op: '>=', limit: 1 },
      },
      {
        regime: 'loopback',
        name: 'vsDebuginfod.p99Ratio (hot, c=16)',
        value: peer.symfeed.latencyP99Ms,
        unit: 'ms',
        baseline: peer.debuginfod?.latencyP99Ms ?? null,
        baselineLabel: 'ms debuginfod',
        measured: peer.p99Ratio,
        aim: { op: '<=', limit: 1 },
      },
      {
        regime: 'loopback',
        name: `soak.requestsPerSecond (${soak.seconds} s, hits and misses, hot, c=${soak.connections})`,
        value: soak.requestsPerSecond,
        unit: 'req/s',
        baseline: null,
        baselineLabel: '',
        measured: soak.requestsPerSecond,
        aim: { op: '>=', limit: 1000 },
      },
      {
        regime: 'loopback',
        name: `soak.errors (${soak.requests} requests)`,
        value: soak.errors,
        unit: '',
        baseline: null,
        baselineLabel: '',
        measured: soak.errors,
        aim: { op: '<=', limit: 0 },
      },
      {
        regime: 'loopback',
        name: `soak.rssGrowthPercent (lowest RSS, end vs after ${soak.warmUpSeconds} s warm-up)`,
        value: soak.rssEndMB,
        unit: 'MB',
        baseline: soak.rssAfterWarmUpMB,
        baselineLabel: 'MB after warm-up (lowest)',
        measured: soak.rssGrowthPercent,
        aim: { op: '<', limit: 10 },
      },
      {
        regime: 'loopback',
        name: `indexKeysPerSecond (${indexing.small.keys} small entries)`,
        value: indexing.small.keysPerSecond,
        unit: 'keys/s',
        baseline: null,
        baselineLabel: '',
        measured: indexing.small.keysPerSecond,
        aim: { op: '>=', limit: 5000 },
      },
      {
        regime: 'loopback',
        name: `indexPeakRssMB (${fmt(indexing.large.bytes / MB, 0)} MB package)`,
        value: indexing.large.peakRssMB,
        unit: 'MB',
        baseline: indexing.large.idleRssMB,
        baselineLabel: 'MB idle server',
        measured: indexing.large.peakRssMB,
        aim: { op: '<=', limit: 300 },
      },
      {
        regime: 'loopback',
        name: `scaleP99Ratio (${fmt(scale.largeKeys)} vs ${fmt(scale.smallKeys)} keys, cold, c=16)`,
        value: scale.large.latencyP99Ms,
        unit: 'ms',
        baseline: scale.small.latencyP99Ms,
        baselineLabel: 'ms at 1,000 keys',
        measured: scale.scaleP99Ratio,
        aim: { op: '<=', limit: 1.2 },
      },
      {
        regime: 'loopback',
        key: 'nuget.listP99Ratio',
        name: `nuget.listP99Ms (${fmt(nuget.large.packages)} vs ${fmt(nuget.small.packages)} packages, v3 search + v2 list, c=16)`,
        value: nuget.large.listP99Ms,
        unit: 'ms',
        baseline: nuget.small.listP99Ms,
        baselineLabel: `ms at ${fmt(nuget.small.packages)} packages`,
        measured: nuget.listP99Ratio,
        aim: { op: '<=', limit: 1.5 },
      },
      {
        regime: 'loopback',
        key: 'nuget.registrationP99Ratio',
        name: `nuget.registrationP99Ms (${fmt(nuget.large.packages)} vs ${fmt(nuget.small.packages)} packages, c=16)`,
        value: nuget.large.registrationP99Ms,
        unit: 'ms',
        baseline: nuget.small.registrationP99Ms,
        baselineLabel: `ms at ${fmt(nuget.small.packages)} packages`,
        measured: nuget.registrationP99Ratio,
        aim: { op: '<=', limit: 1.5 },
      },
    ];

    const perClass = (pick: (c: LatencyClass) => number | null) =>
      Object.fromEntries(latency.classes.map((c) => [c.target, round(pick(c))]));
    const report = {
      quick,
      date: new Date().toISOString(),
      code,
      machine: machine(),
      durationSeconds: round((performance.now() - begun) / 1000, 0),
      requestsPerSecond: round(rps?.requestsPerSecond ?? null, 0),
      ttfbRatioVsRawBlob: round(raw.ttfbRatioVsRawBlob),
      throughputRatioVsRawBlob: round(raw.throughputRatioVsRawBlob),
      vsDebuginfod: { rpsRatio: round(peer.rpsRatio), p99Ratio: round(peer.p99Ratio) },
      indexKeysPerSecond: round(indexing.small.keysPerSecond, 0),
      indexPeakRssMB: round(indexing.large.peakRssMB, 0),
      scaleP99Ratio: round(scale.scaleP99Ratio),
      nuget: {
        packages: nuget.large.packages,
        listP99Ms: round(nuget.large.listP99Ms),
        registrationP99Ms: round(nuget.large.registrationP99Ms),
        listP99Ratio: round(nuget.listP99Ratio),
        registrationP99Ratio: round(nuget.registrationP99Ratio),
        bigIdRegistrationP99Ms: round(nuget.bigRegistrationP99Ms),
      },
      gzipThroughputRatioVsRawBlob: round(bytes.gzip.ratio),
      inflateRatioVsZlib: round(bytes.inflate.ratio),
      crcCostPercent: round(bytes.crcCostPercent, 1),
      burstMBps: round(burstWorst?.megabytesPerSecond ?? null, 0),
      burstRatioVsRawBlob: round(burstRatio),
      privateRpsRatio: round(privateFeed.privateRpsRatio),
      latencyModel: {
        storageLatencyMs,
        appliedDelayP50Ms: round(latency.appliedDelayP50Ms, 3),
        roundTripMs: round(latency.roundTripMs, 3),
        inlineLimitBytes: INLINE_LIMIT_BYTES,
        ttfbRatioVsRawBlob: perClass((c) => c.ratio),
        storageRoundTripsPerColdHit: perClass((c) => c.roundTripsPerHit),
        overheadMs: perClass((c) => c.overheadMs),
      },
      soak: {
        requestsPerSecond: round(soak.requestsPerSecond, 0),
        errors: soak.errors,
        rssGrowthPercent: round(soak.rssGrowthPercent, 1),
      },
      aims: Object.fromEntries(
        figures.flatMap((f) =>
          f.aim ? [[figureKey(f), { aim: `${f.aim.op} ${f.aim.limit}`, met: met(f) }]] : [],
        ),
      ),
      details: {
        serve: [...serveHot, ...serveCold],
        raw: {
          ttfb: raw.ttfb,
          throughput: raw.throughput,
          rawSmallRequestsPerSecond: raw.rawSmallRequestsPerSecond,
          rawBurstMegabytesPerSecond: raw.rawBurstMegabytesPerSecond,
        },
        burst: burst.map((c) => ({ target: c.target, megabytesPerSecond: c.megabytesPerSecond })),
        bytes,
        private: privateFeed,
        latencyModel: latency,
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
        nuget,
      },
    };
    const json = `${JSON.stringify(report, roundReplacer, 2)}\n`;
    writeFileSync(LATEST_JSON, json);
    writeFileSync(LATEST_RUN_JSON[quick ? 'quick' : 'full'], json);

    const m = report.machine;
    console.log(`\nsymfeed bench${quick ? ' --quick' : ''}, ${report.date}`);
    console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.os}\n`);
    console.log(figuresTable(figures, storageLatencyMs));
    console.log(
      `\nlatency model: +${storageLatencyMs} ms before each storage response's headers (applied: ${fmt(latency.appliedDelayP50Ms)} ms p50; a round trip, the 4 KB raw blob's TTFB: ${fmt(latency.roundTripMs)} ms p50); cold symfeed, c=1\n`,
    );
    console.log(latencyTable(latency.classes));
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

function latencyTable(classes: readonly LatencyClass[]): string {
  return table(
    [
      'target',
      'symfeed TTFB p50 ms',
      'raw TTFB p50 ms',
      'ratio',
      'round trips/hit',
      'before 1st byte',
      'blob/table/queue',
      'round trip ms',
      'overhead ms',
      'aims ratio/trips/overhead',
    ],
    classes.map((c) => {
      const aims = latencyAims(c.size);
      const by = c.roundTripsPerHitByService;
      return [
        c.target,
        fmt(c.symfeedTtfbP50Ms),
        fmt(c.rawTtfbP50Ms),
        fmt(c.ratio),
        fmt(c.roundTripsPerHit),
        fmt(c.roundTripsBeforeFirstByte),
        `${fmt(by.blob)}/${fmt(by.table)}/${fmt(by.queue)}`,
        fmt(c.roundTripMs),
        fmt(c.overheadMs),
        `${aims.ratio === null ? '-' : `<= ${aims.ratio}`} / <= ${aims.roundTrips} / <= ${aims.overheadMs}`,
      ];
    }),
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
