import { TableClient } from '@azure/data-tables';
import { performance } from 'node:perf_hooks';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { KeyRecord } from '../../shared/index/location';
import { writeKeyRows } from '../../shared/index/keyTable';
import { load, LoadResult } from '../support/load';
import { ratio } from '../support/stats';
import { BenchStorage } from '../support/storage';

const SCALE_FEED = 'scale';

export interface ScaleResult {
  readonly smallKeys: number;
  readonly largeKeys: number;
  readonly small: LoadResult;
  readonly large: LoadResult;
  readonly seedSeconds: number;
  readonly scaleP99Ratio: number | null;
}

/** Key i of the scale feed: shaped like a PE key, lower-case as stored. */
const keyOf = (i: number) => `scale-${i}.dll/${(0x30000000 + i).toString(16)}1000/scale-${i}.dll`;

/**
 * Lookups in a feed of 1,000 keys and then of many more (the same feed, grown), against the cold
 * server so that every request is a table query. The rows are written straight into the
 * symbolkeys table by the indexer's row writer, every one pointing at the 4 KB stored entry of
 * the serve package: a hit then costs a lookup plus one small blob read, whatever the key.
 */
export async function scaleScenario(
  storage: BenchStorage,
  coldUrl: string,
  target: KeyRecord,
  plan: { smallKeys: number; largeKeys: number; seconds: number },
  log: (line: string) => void,
): Promise<ScaleResult> {
  await ensureFeed(storage.clients.feedsTable, { name: SCALE_FEED, visibility: 'public' });
  const table = storage.clients.symbolKeysTable;
  let seedMs = performance.now();
  await seed(table, target, 0, plan.smallKeys);
  seedMs = performance.now() - seedMs;
  const probe = await fetch(`${coldUrl}/F/${SCALE_FEED}/symbols/${keyOf(0)}`);
  await probe.arrayBuffer();
  if (probe.status !== 200) {
    throw new Error(`a seeded scale key gave ${probe.status}, not 200`);
  }
  const measure = (keys: number) =>
    load({
      url: coldUrl,
      connections: 16,
      seconds: plan.seconds,
      pickPath: () => `/F/${SCALE_FEED}/symbols/${keyOf(Math.floor(Math.random() * keys))}`,
    });
  const small = await measure(plan.smallKeys);
  log(
    `scale ${plan.smallKeys} keys: p99 ${small.latencyP99Ms.toFixed(2)} ms, ${small.requestsPerSecond.toFixed(0)} req/s`,
  );
  const seeding = performance.now();
  await seed(table, target, plan.smallKeys, plan.largeKeys, log);
  seedMs += performance.now() - seeding;
  const large = await measure(plan.largeKeys);
  log(
    `scale ${plan.largeKeys} keys: p99 ${large.latencyP99Ms.toFixed(2)} ms, ${large.requestsPerSecond.toFixed(0)} req/s`,
  );
  return {
    smallKeys: plan.smallKeys,
    largeKeys: plan.largeKeys,
    small,
    large,
    seedSeconds: seedMs / 1000,
    scaleP99Ratio: ratio(large.latencyP99Ms, small.latencyP99Ms),
  };
}

/** Keys per call of the indexer's row writer: its transactions then fill up, as a package's do. */
const SEED_BATCH = 20_000;

/**
 * Writes keys [from, to) through the indexer's own row writer, as one large package would, all
 * pointing at the 4 KB stored entry.
 */
async function seed(
  table: TableClient,
  target: KeyRecord,
  from: number,
  to: number,
  log?: (line: string) => void,
): Promise<void> {
  const owner = { feed: SCALE_FEED, packageUid: target.location.packageUid, firstIndexedAt: 0 };
  let lastLog = performance.now();
  for (let at = from; at < to; at += SEED_BATCH) {
    const records = Array.from({ length: Math.min(SEED_BATCH, to - at) }, (_, i) => ({
      ...target,
      key: keyOf(at + i),
      clientKey: keyOf(at + i),
      source: 'explicit' as const,
    }));
    await writeKeyRows(table, owner, records);
    if (log && performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`scale: ${at + records.length} keys seeded`);
    }
  }
}
