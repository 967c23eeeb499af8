import { performance } from 'node:perf_hooks';
import { findLocation } from '../../shared/index/keyTable';
import { readRange } from '../../shared/serve/blobRange';
import { createStorageClients, StorageClients } from '../../shared/storage/clients';
import { COMPRESSION_METHODS } from '../../shared/zip/packageZip';
import { LatencyProxy, StorageService } from '../support/latencyProxy';
import { ttfb, TtfbResult } from '../support/load';
import { ServerProcess } from '../support/serverProcess';
import { median, percentile, ratio } from '../support/stats';
import { FEED, Fixtures, ServeEntry } from './fixtures';

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
   * The same storage requests symfeed makes before its first byte, made one after the other from
   * the bench process with symfeed's own code through the proxy (`findLocation`, then, above the
   * inline limit, `readRange` to its response headers): TTFB p50.
   */
  readonly storageOnlyTtfbP50Ms: number;
  /**
   * symfeed's own part of the first byte: its TTFB p50 minus `storageOnlyTtfbP50Ms`. Storage's
   * part is measured rather than priced as round trips × latency, because Azurite's own time
   * differs by request (a point read of a table row, a range of a 200 MB block blob: it takes
   * milliseconds to start answering a range of 4 MiB or less, which it hashes first) and would be
   * charged to symfeed otherwise.
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
  const storage = createStorageClients({
    kind: 'connectionString',
    connectionString: proxy.connectionString,
  });
  for (const entry of entries) {
    const storageOnly = await storageRequests(storage, fixtures, entry, seconds);
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
      storageOnlyTtfbP50Ms: storageOnly,
      overheadMs: symfeed.ttfb.ttfbP50Ms - storageOnly,
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

/**
 * TTFB p50 of the storage requests a cold hit on `entry` makes, made with symfeed's own code: the
 * key's winner row, and the entry's bytes when the row does not hold them.
 */
async function storageRequests(
  storage: StorageClients,
  fixtures: Fixtures,
  entry: ServeEntry,
  seconds: number,
): Promise<number> {
  const record = fixtures.servePackage.keys.find((k) => k.location.entry === `lib/${entry.id}.bin`);
  if (!record) throw new Error(`the serve package has no key for lib/${entry.id}.bin`);
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (times.length < 5 || performance.now() < until) {
    const started = performance.now();
    const found = await findLocation(storage.symbolKeysTable, FEED, record.key);
    if (!found) throw new Error(`no winner row for ${record.key}`);
    if (!found.inline) {
      const location = found;
      const stored = location.method === COMPRESSION_METHODS.stored;
      const read = await readRange(
        storage.packagesContainer.getBlobClient(location.blob),
        location.dataOffset,
        stored ? location.size : location.compressedSize,
        location.blobEtag,
      );
      if ('stale' in read) throw new Error(`${location.blob} changed under the bench`);
      times.push(performance.now() - started);
      read.body.destroy();
    } else {
      times.push(performance.now() - started);
    }
  }
  return percentile(times, 50);
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
