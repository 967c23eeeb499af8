import { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { meter } from './pipeline';

/**
 * symfeed's own metrics, made with the OpenTelemetry API: Azure Monitor exports them when it is
 * configured, and GET /metrics shows them. Every attribute takes few values, so that the number
 * of series stays bounded whatever callers send.
 */

export type SymbolRoute = 'ssqp' | 'debuginfod';
export type SymbolOutcome =
  'hit' | 'miss' | 'bad_request' | 'unauthorized' | 'forbidden' | 'error' | 'unavailable';
/** hot: the file's bytes came from memory; cold: from storage, or no bytes were sent. */
export type CacheUse = 'hot' | 'cold';

/**
 * The feed label of a request for a feed that does not exist. Feed names cannot begin with "_",
 * and only feeds in the feeds table get a label of their own: names a caller makes up must not
 * add series.
 */
export const UNKNOWN_FEED = '_unknown';

/** Bucket bounds in milliseconds, from a remembered hot file to a slow storage read. */
const TTFB_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Bucket bounds in seconds, from a small package to one that takes the whole function timeout. */
const INDEX_BUCKETS_S = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * The name of each instrument, as Azure Monitor stores it (customMetrics `name`) and the workbook
 * in infra/ queries it; Prometheus writes the dots as underscores.
 */
export const METRIC_NAMES = {
  symbolRequests: 'symfeed.symbol.requests',
  symbolTtfb: 'symfeed.symbol.ttfb',
  symbolBytes: 'symfeed.symbol.bytes',
  indexRuns: 'symfeed.index.runs',
  indexDuration: 'symfeed.index.duration',
  indexKeys: 'symfeed.index.keys',
  deletes: 'symfeed.deletes',
  nugetPushes: 'symfeed.nuget.pushes',
} as const;

interface Instruments {
  readonly symbolRequests: Counter;
  readonly symbolTtfb: Histogram;
  readonly symbolBytes: Counter;
  readonly indexRuns: Counter;
  readonly indexDuration: Histogram;
  readonly indexKeys: Counter;
  readonly deletes: Counter;
  readonly nugetPushes: Counter;
}

function createInstruments(m: Meter): Instruments {
  return {
    symbolRequests: m.createCounter(METRIC_NAMES.symbolRequests, {
      description: 'Symbol requests answered, by feed, route (ssqp, debuginfod), outcome and cache',
    }),
    symbolTtfb: m.createHistogram(METRIC_NAMES.symbolTtfb, {
      description:
        'Milliseconds from a symbol request to its answer ready to send (hits and misses)',
      unit: 'ms',
      advice: { explicitBucketBoundaries: TTFB_BUCKETS_MS },
    }),
    symbolBytes: m.createCounter(METRIC_NAMES.symbolBytes, {
      description:
        'Bytes of symbol files sent (the Content-Length of each hit, compressed for a gzip answer; none for one that broke off damaged)',
      unit: 'By',
    }),
    indexRuns: m.createCounter(METRIC_NAMES.indexRuns, {
      description: 'Indexing runs, by feed and the state they left the package in',
    }),
    indexDuration: m.createHistogram(METRIC_NAMES.indexDuration, {
      description: 'Seconds an indexing run took, by the state it left the package in',
      unit: 's',
      advice: { explicitBucketBoundaries: INDEX_BUCKETS_S },
    }),
    indexKeys: m.createCounter(METRIC_NAMES.indexKeys, {
      description: 'Keys written by indexing runs, by the state they left the package in',
    }),
    deletes: m.createCounter(METRIC_NAMES.deletes, {
      description: 'Delete messages handled, by feed and outcome',
    }),
    nugetPushes: m.createCounter(METRIC_NAMES.nugetPushes, {
      description: 'NuGet pushes answered, by outcome',
    }),
  };
}

let instruments: Instruments | undefined;

function record(): Instruments {
  instruments ??= createInstruments(meter());
  return instruments;
}

function symbolOutcome(status: number): SymbolOutcome {
  if (status < 400) return 'hit';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'miss';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'error';
  return 'bad_request';
}

export interface SymbolAnswer {
  readonly route: SymbolRoute;
  readonly status: number;
  /** The feed asked for, when it exists; otherwise the request counts under UNKNOWN_FEED. */
  readonly feed?: string;
  readonly cache: CacheUse;
  readonly ttfbMs: number;
  /** The bytes the answer carries (its Content-Length when it has a body). */
  readonly bytes: number;
}

export function recordSymbolAnswer(answer: SymbolAnswer): void {
  const outcome = symbolOutcome(answer.status);
  const feed = answer.feed ?? UNKNOWN_FEED;
  const m = record();
  m.symbolRequests.add(1, { feed, route: answer.route, outcome, cache: answer.cache });
  if (outcome === 'hit' || outcome === 'miss') {
    m.symbolTtfb.record(answer.ttfbMs, { feed, route: answer.route, outcome });
  }
  if (answer.bytes > 0) m.symbolBytes.add(answer.bytes, { feed, route: answer.route });
}

/**
 * How an indexing run of a package of `feed` (the folder of its blob) ended: the state it left
 * the package in, or what stopped it (`deleting`, `gone`, `superseded`, `failed`).
 */
export function recordIndexRun(feed: string, outcome: string, seconds: number, keys: number): void {
  const attributes: Attributes = { feed, outcome };
  const m = record();
  m.indexRuns.add(1, attributes);
  m.indexDuration.record(seconds, attributes);
  if (keys > 0) m.indexKeys.add(keys, attributes);
}

/**
 * A delete message of `feed` handled: `deleted`, `already`, `missing`, `continued`, `malformed`
 * (counted under UNKNOWN_FEED: its feed cannot be trusted) or `failed`.
 */
export function recordDelete(feed: string, outcome: string): void {
  record().deletes.add(1, { feed, outcome });
}

export type PushOutcome =
  | 'accepted'
  | 'bad_request'
  | 'too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'error'
  | 'unavailable';

function pushOutcome(status: number): PushOutcome {
  if (status < 300) return 'accepted';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'error';
  return 'bad_request';
}

export function recordNuGetPush(status: number): void {
  record().nugetPushes.add(1, { outcome: pushOutcome(status) });
}
