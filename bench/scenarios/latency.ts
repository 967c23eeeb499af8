import { LatencyProxy, StorageService } from '../support/latencyProxy';
import { ttfb, TtfbResult } from '../support/load';
import { ServerProcess } from '../support/serverProcess';
import { median, ratio } from '../support/stats';
import { Fixtures, ServeEntry } from './fixtures';

/** Location, miss and hot-file caches off: every hit reads storage. */
export const COLD_ENV = {
  SYMFEED_LOCATION_CACHE_SECONDS: '0',
  SYMFEED_MISS_CACHE_SECONDS: '0',
  SYMFEED_HOT_CACHE_BYTES: '0',
};

/**
 * Files up to this size (after inflation) live in their key's row (issue 14's default), so a cold
 * hit on them is one point read; above it, the key's row and then the package's bytes.
 */
export const INLINE_LIMIT_BYTES = 16 * 1024;

/** The aims of a size class under the latency model; no TTFB ratio aim above the inline limit. */
export function latencyAims(size: number): {
  ratio: number | null;
  roundTrips: number;
  overheadMs: number;
} {
  const inline = size <= INLINE_LIMIT_BYTES;
  return { ratio: inline ? 1.3 : null, roundTrips: inline ? 1 : 2, overheadMs: 0.5 };
}

/** One size class through the delay proxy: symfeed cold against the same bytes as a plain blob. */
export interface LatencyClass {
  readonly target: string;
  readonly size: number;
  readonly symfeedTtfbP50Ms: number;
  readonly rawTtfbP50Ms: number;
  readonly ratio: number | null;
  /**
   * Storage requests per cold hit, body reads included: the proxy's count / requests made, not
   * counting reads of feed settings and tokens, which are re-read in the background (see
   * `settingsReadsPerHit`).
   */
  readonly roundTripsPerHit: number;
  /** Of them, those made before the response headers reached the client (a mean). */
  readonly roundTripsBeforeFirstByte: number;
  /** Background re-reads of feed settings and tokens, per hit (one every 2.5 s per feed in use). */
  readonly settingsReadsPerHit: number;
  readonly roundTripsPerHitByService: Record<StorageService, number>;
  /** The raw GET's own count: 1, or the proxy counts wrong. */
  readonly rawRoundTripsPerHit: number;
  /**
   * What a small storage round trip costs in the model here: the TTFB p50 of the 4 KB raw blob
   * through the proxy, measured right after this class, so that the delay, the proxy's own hop and
   * its timer's lateness (2-3 ms on a loaded two-core machine) are not charged to symfeed.
   */
  readonly roundTripMs: number;
  /**
   * symfeed's TTFB p50 minus its round trips before the first byte, each priced as the model
   * prices it: the last one, the read of the entry's bytes, as the raw blob of the same bytes
   * (Azurite takes tens of ms to start answering one of 100 MB, whoever asks), the others (the
   * key's row) as `roundTripMs`.
   */
  readonly overheadMs: number;
  readonly requests: number;
  readonly failures: number;
}

export interface LatencyModelResult {
  readonly storageLatencyMs: number;
  /** The median delay the proxy actually added (its timers fire a little late). */
  readonly appliedDelayP50Ms: number;
  /** The median of the classes' `roundTripMs`. */
  readonly roundTripMs: number;
  readonly classes: readonly LatencyClass[];
}

/**
 * Azure's regime: every storage request of a cold symfeed (HTTP roles only, `COLD_ENV`) and of
 * the raw-blob baseline waits `proxy.latencyMs` more for its response headers. One connection, one
 * request at a time, so that TTFB is latency and not queueing.
 */
export async function latencyScenario(
  proxy: LatencyProxy,
  server: ServerProcess,
  fixtures: Fixtures,
  seconds: number,
  log: (line: string) => void,
): Promise<LatencyModelResult> {
  const entries = [...fixtures.small, ...fixtures.big];
  const smallest = [...entries].sort((a, b) => a.size - b.size)[0] as ServeEntry;
  // Opens symfeed's keep-alive connections to storage: warm sockets, not warm caches.
  await fetch(`${server.url}${entries[0]?.path}`).then((response) => response.arrayBuffer());
  const classes: LatencyClass[] = [];
  const delays: number[] = [];
  for (const entry of entries) {
    const symfeed = await counted(proxy, `${server.url}${entry.path}`, seconds);
    const raw = await counted(proxy, proxy.blobUrl(entry.rawUrl), seconds);
    const roundTrip =
      entry.size === smallest.size
        ? raw
        : await counted(proxy, proxy.blobUrl(smallest.rawUrl), seconds);
    delays.push(symfeed.appliedDelayMs, raw.appliedDelayMs);
    const roundTripMs = roundTrip.ttfb.ttfbP50Ms;
    const result: LatencyClass = {
      target: entry.id,
      size: entry.size,
      symfeedTtfbP50Ms: symfeed.ttfb.ttfbP50Ms,
      rawTtfbP50Ms: raw.ttfb.ttfbP50Ms,
      ratio: ratio(symfeed.ttfb.ttfbP50Ms, raw.ttfb.ttfbP50Ms),
      roundTripsPerHit: symfeed.perHit,
      roundTripsBeforeFirstByte: symfeed.beforeFirstByte,
      settingsReadsPerHit: symfeed.settingsReadsPerHit,
      roundTripsPerHitByService: symfeed.byService,
      rawRoundTripsPerHit: raw.perHit,
      roundTripMs,
      overheadMs:
        symfeed.ttfb.ttfbP50Ms -
        raw.ttfb.ttfbP50Ms -
        Math.max(0, symfeed.beforeFirstByte - 1) * roundTripMs,
      requests: symfeed.ttfb.requests,
      failures: symfeed.ttfb.failures + raw.ttfb.failures,
    };
    log(
      `latency ${proxy.latencyMs} ms ${entry.id}: symfeed cold TTFB p50 ${result.symfeedTtfbP50Ms.toFixed(2)} ms, ` +
        `raw ${result.rawTtfbP50Ms.toFixed(2)} ms, ratio ${result.ratio?.toFixed(2)}, ` +
        `${result.roundTripsBeforeFirstByte.toFixed(2)} round trips before the first byte ` +
        `(${result.roundTripsPerHit.toFixed(2)} in all, ${JSON.stringify(result.roundTripsPerHitByService)}), ` +
        `overhead ${result.overheadMs.toFixed(2)} ms (a round trip: ${roundTripMs.toFixed(2)} ms)` +
        (result.failures ? `, ${result.failures} failures` : ''),
    );
    classes.push(result);
  }
  return {
    storageLatencyMs: proxy.latencyMs,
    appliedDelayP50Ms: median(delays),
    roundTripMs: median(classes.map((c) => c.roundTripMs)),
    classes,
  };
}

/** TTFB at one connection, with the storage requests the proxy saw for it. */
async function counted(
  proxy: LatencyProxy,
  url: string,
  seconds: number,
): Promise<{
  ttfb: TtfbResult;
  perHit: number;
  beforeFirstByte: number;
  settingsReadsPerHit: number;
  byService: Record<StorageService, number>;
  appliedDelayMs: number;
}> {
  proxy.reset();
  let beforeFirstByte = 0;
  const result = await ttfb({
    url,
    connections: 1,
    seconds,
    minRequests: 5,
    probe: () => {
      const at = proxy.onPath();
      return () => (beforeFirstByte += proxy.onPath() - at);
    },
  });
  const counts = proxy.counts();
  const perRequest = (n: number) => n / result.requests;
  return {
    ttfb: result,
    perHit: perRequest(proxy.onPath()),
    beforeFirstByte: perRequest(beforeFirstByte),
    settingsReadsPerHit: perRequest(proxy.settingsReads()),
    byService: {
      blob: perRequest(counts.blob),
      queue: perRequest(counts.queue),
      table: perRequest(counts.table),
    },
    appliedDelayMs: proxy.appliedDelayP50Ms(),
  };
}
