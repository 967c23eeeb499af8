import { download, load, ttfb } from '../support/load';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { EntryLocation } from '../../shared/index/location';
import { MB, median, percentile, ratio } from '../support/stats';
import { BenchStorage } from '../support/storage';
import { Fixtures, ServeEntry } from './fixtures';
import { ServeCell } from './serve';

export interface RawTtfb {
  readonly target: string;
  readonly rawTtfbP50Ms: number;
  readonly symfeedColdTtfbP50Ms: number | null;
  readonly ratio: number | null;
  /**
   * Diagnostic: the entry's own bytes read by the storage SDK (a signed, conditional range of the
   * package blob): what the one storage read of a cold hit costs, so that symfeed's share of its
   * TTFB shows. symfeed itself reads large entries with a plain keep-alive GET, a little faster.
   */
  readonly sdkRangeTtfbP50Ms: number | null;
}

export interface Throughput {
  readonly target: string;
  readonly symfeedMBps: number;
  readonly rawMBps: number;
  readonly symfeedTtfbMs: number;
  readonly rawTtfbMs: number;
  readonly ratio: number | null;
}

export interface RawResult {
  readonly ttfb: readonly RawTtfb[];
  readonly throughput: readonly Throughput[];
  /** The worst entry: the aim holds only if it holds for every one. */
  readonly ttfbRatioVsRawBlob: number | null;
  readonly throughputRatioVsRawBlob: number | null;
  /** Plain GETs of the 4 KB blob at 16 connections: the baseline of requestsPerSecond. */
  readonly rawSmallRequestsPerSecond: number;
  /** Plain GETs of the 1 MB blob at 64 connections: the baseline of burstMBps. */
  readonly rawBurstMegabytesPerSecond: number;
}

export const BURST_CONNECTIONS = 64;

/**
 * The raw limit: the same bytes as a plain blob, fetched straight from Azurite by a plain GET.
 * TTFB is compared one request at a time (one connection), where it measures latency and not
 * queueing; throughput by streaming the 100 MB entries whole, each several times, medians kept.
 */
export async function rawScenario(
  storage: BenchStorage,
  symfeedCold: string,
  fixtures: Fixtures,
  cold: readonly ServeCell[],
  plan: { seconds: number; downloads: number },
  log: (line: string) => void,
): Promise<RawResult> {
  const ttfbs: RawTtfb[] = [];
  for (const entry of fixtures.small) {
    const raw = await ttfb({ url: entry.rawUrl, connections: 1, seconds: plan.seconds / 2 });
    const location = fixtures.servePackage.keys.find(
      (k) => k.location.entry === `lib/${entry.id}.bin`,
    )?.location;
    const sdk = location ? await sdkRangeTtfb(storage, location, plan.seconds / 2) : null;
    const symfeed = cold.find((cell) => cell.target === entry.id && cell.connections === 1);
    const result = {
      target: entry.id,
      rawTtfbP50Ms: raw.ttfbP50Ms,
      symfeedColdTtfbP50Ms: symfeed?.ttfbP50Ms ?? null,
      ratio: ratio(symfeed?.ttfbP50Ms, raw.ttfbP50Ms),
      sdkRangeTtfbP50Ms: sdk,
    };
    log(
      `raw ${entry.id}: TTFB p50 ${raw.ttfbP50Ms.toFixed(2)} ms (SDK range of the package: ${sdk?.toFixed(2)} ms); symfeed cold / raw = ${result.ratio?.toFixed(2)}`,
    );
    ttfbs.push(result);
  }
  const small = fixtures.small[0] as ServeEntry;
  const rawSmall = await load({ url: small.rawUrl, connections: 16, seconds: plan.seconds });
  log(`raw ${small.id} c=16: ${rawSmall.requestsPerSecond.toFixed(0)} req/s`);
  const mid = fixtures.small.find((entry) => entry.size === MB);
  if (!mid) throw new Error('no 1 MB entry for the burst');
  const rawBurst = await load({
    url: mid.rawUrl,
    connections: BURST_CONNECTIONS,
    seconds: plan.seconds,
  });
  log(`raw 1 MB blob c=${BURST_CONNECTIONS}: ${rawBurst.megabytesPerSecond.toFixed(0)} MB/s`);
  const throughput: Throughput[] = [];
  for (const entry of fixtures.big) {
    const symfeed = await downloads(`${symfeedCold}${entry.path}`, entry, plan.downloads);
    const raw = await downloads(entry.rawUrl, entry, plan.downloads);
    const result = {
      target: entry.id,
      symfeedMBps: symfeed.megabytesPerSecond,
      rawMBps: raw.megabytesPerSecond,
      symfeedTtfbMs: symfeed.ttfbMs,
      rawTtfbMs: raw.ttfbMs,
      ratio: ratio(symfeed.megabytesPerSecond, raw.megabytesPerSecond),
    };
    log(
      `throughput ${entry.id}: symfeed ${result.symfeedMBps.toFixed(0)} MB/s, raw ${result.rawMBps.toFixed(0)} MB/s, ratio ${result.ratio?.toFixed(2)}`,
    );
    throughput.push(result);
  }
  const worst = (values: (number | null)[], pick: (...v: number[]) => number) =>
    values.some((v) => v === null) ? null : pick(...(values as number[]));
  return {
    ttfb: ttfbs,
    throughput,
    ttfbRatioVsRawBlob: worst(
      ttfbs.map((t) => t.ratio),
      Math.max,
    ),
    throughputRatioVsRawBlob: worst(
      throughput.map((t) => t.ratio),
      Math.min,
    ),
    rawSmallRequestsPerSecond: rawSmall.requestsPerSecond,
    rawBurstMegabytesPerSecond: rawBurst.megabytesPerSecond,
  };
}

async function downloads(url: string, entry: ServeEntry, times: number) {
  const runs = [];
  for (let i = 0; i < times; i++) {
    const run = await download(url);
    if (run.status !== 200 || run.bytes !== entry.size) {
      throw new Error(`GET ${url} gave ${run.status} with ${run.bytes} bytes, not ${entry.size}`);
    }
    runs.push(run);
  }
  return {
    megabytesPerSecond: median(runs.map((r) => r.megabytesPerSecond)),
    ttfbMs: median(runs.map((r) => r.ttfbMs)),
  };
}

/** Time to the response headers of the SDK's conditional ranged read, one request at a time. */
async function sdkRangeTtfb(
  storage: BenchStorage,
  location: EntryLocation,
  seconds: number,
): Promise<number> {
  const blob = storage.clients.packagesContainer.getBlobClient(location.blob);
  const samples: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const start = performance.now();
    const response = await blob.download(location.dataOffset, location.compressedSize, {
      conditions: { ifMatch: location.blobEtag },
    });
    samples.push(performance.now() - start);
    for await (const _chunk of response.readableStreamBody as Readable) {
      // drained
    }
  }
  return percentile(samples, 50);
}
