import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { crc32, createGunzip, inflateRawSync } from 'node:zlib';
import { download } from '../support/load';
import { fmt } from '../support/report';
import { median, MB, ratio } from '../support/stats';
import { BenchStorage } from '../support/storage';
import { Fixtures, ServeEntry } from './fixtures';
import { Throughput } from './raw';

export interface GzipResult {
  /** The entry's own (inflated) MiB per second of the gzip answer: the file delivered. */
  readonly symfeedMBps: number | null;
  /** MiB on the wire per second. */
  readonly wireMBps: number | null;
  readonly wireBytes: number | null;
  readonly rawMBps: number;
  readonly contentEncoding: string | null;
  readonly ratio: number | null;
  readonly note?: string;
}

export interface InflateResult {
  /** symfeed's identity answer of the 100 MB deflated entry (the raw scenario's streaming). */
  readonly symfeedMBps: number;
  /** zlib.inflateRawSync (1 MiB chunks) of the same deflate bytes in this process, median of the runs. */
  readonly zlibMBps: number;
  readonly ratio: number | null;
}

export interface CrcCost {
  readonly target: string;
  /** zlib.crc32 over the entry's bytes in this process, median of the runs. */
  readonly crcMs: number;
  /** The time symfeed takes to stream the entry (its size / its MB/s in the raw scenario). */
  readonly streamMs: number;
  readonly percent: number;
}

export interface BytesResult {
  readonly gzip: GzipResult;
  readonly inflate: InflateResult;
  readonly crc: readonly CrcCost[];
  /** The largest share: the aim holds only if it holds for every entry. */
  readonly crcCostPercent: number | null;
}

/**
 * The work per byte of a large entry: its deflate stream sent as gzip, inflating it against zlib
 * alone, and what a CRC-32 of its bytes costs against streaming them. The identity and raw-blob
 * MB/s come from the raw scenario's streaming of the same entries, in the same run.
 */
export async function bytesScenario(
  storage: BenchStorage,
  symfeed: string,
  fixtures: Fixtures,
  throughput: readonly Throughput[],
  runs: number,
  log: (line: string) => void,
): Promise<BytesResult> {
  const deflated = bigEntry(fixtures, true);
  const streamed = (entry: ServeEntry) => {
    const row = throughput.find((t) => t.target === entry.id);
    if (!row) throw new Error(`no throughput measured for ${entry.id}`);
    return row;
  };
  const gzip = await gzipThroughput(
    `${symfeed}${deflated.path}`,
    deflated,
    streamed(deflated).rawMBps,
    runs,
  );
  log(
    gzip.note
      ? `gzip ${deflated.id}: not measured: ${gzip.note}`
      : `gzip ${deflated.id}: symfeed ${fmt(gzip.symfeedMBps)} MB/s of the file (${fmt(gzip.wireMBps)} on the wire), ` +
          `raw ${fmt(gzip.rawMBps)} MB/s, ratio ${fmt(gzip.ratio)}`,
  );

  const location = fixtures.servePackage.keys.find(
    (k) => k.location.entry === `lib/${deflated.id}.bin`,
  )?.location;
  if (!location) throw new Error(`the serve package has no key for lib/${deflated.id}.bin`);
  const compressed = await storage.clients.packagesContainer
    .getBlobClient(location.blob)
    .downloadToBuffer(location.dataOffset, location.compressedSize);
  let inflated = Buffer.alloc(0);
  // 1 MiB output chunks: zlib's default 16 KiB ones cost it 15-20 % here in copying them together.
  const inflateMs = timed(
    runs,
    () => (inflated = inflateRawSync(compressed, { chunkSize: 1024 * 1024 })),
  );
  if (inflated.length !== deflated.size) {
    throw new Error(`inflating ${deflated.id} gave ${inflated.length} bytes, not ${deflated.size}`);
  }
  const zlibMBps = deflated.size / MB / (inflateMs / 1000);
  const inflate = {
    symfeedMBps: streamed(deflated).symfeedMBps,
    zlibMBps,
    ratio: ratio(streamed(deflated).symfeedMBps, zlibMBps),
  };
  log(
    `inflate ${deflated.id}: symfeed ${inflate.symfeedMBps.toFixed(0)} MB/s, zlib.inflateRawSync ${zlibMBps.toFixed(0)} MB/s, ratio ${inflate.ratio?.toFixed(2)}`,
  );

  // Stored and deflated entries of one size hold the same bytes.
  const crcMs = timed(runs, () => crc32(inflated));
  const crc = [bigEntry(fixtures, false), deflated].map((entry) => {
    const streamMs = (entry.size / MB / streamed(entry).symfeedMBps) * 1000;
    return { target: entry.id, crcMs, streamMs, percent: (crcMs / streamMs) * 100 };
  });
  for (const c of crc) {
    log(
      `CRC-32 ${c.target}: ${c.crcMs.toFixed(1)} ms against ${c.streamMs.toFixed(0)} ms streaming: ${c.percent.toFixed(1)} %`,
    );
  }
  return { gzip, inflate, crc, crcCostPercent: Math.max(...crc.map((c) => c.percent)) };
}

function bigEntry(fixtures: Fixtures, compress: boolean): ServeEntry {
  const entry = fixtures.big.find((e) => e.compress === compress);
  if (!entry) throw new Error(`no 100 MB ${compress ? 'deflated' : 'stored'} entry`);
  return entry;
}

/** Median milliseconds of `runs` calls. */
function timed(runs: number, work: () => unknown): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    work();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

const GZIP = { 'Accept-Encoding': 'gzip' };

/**
 * The entry asked for with `Accept-Encoding: gzip`, streamed whole `runs` times. Only a gzip
 * answer counts, and only once one of them has been gunzipped to the entry's size (gunzip checks
 * the trailer's CRC-32 and length itself).
 */
async function gzipThroughput(
  url: string,
  entry: ServeEntry,
  rawMBps: number,
  runs: number,
): Promise<GzipResult> {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const run = await download(url, GZIP);
    if (run.status !== 200) throw new Error(`GET ${url} (gzip) gave ${run.status}`);
    samples.push(run);
  }
  const encoding = samples[0]?.contentEncoding ?? null;
  const unmeasured = { symfeedMBps: null, wireMBps: null, wireBytes: null, rawMBps, ratio: null };
  if (encoding !== 'gzip') {
    return {
      ...unmeasured,
      contentEncoding: encoding,
      note: `symfeed answered Accept-Encoding: gzip with ${encoding ? `Content-Encoding ${encoding}` : 'the identity bytes'}`,
    };
  }
  const gunzipped = await gunzippedLength(url);
  if (gunzipped !== entry.size) {
    return {
      ...unmeasured,
      contentEncoding: encoding,
      note: `the gzip answer gunzips to ${gunzipped} bytes, not ${entry.size}`,
    };
  }
  const symfeedMBps = median(samples.map((s) => entry.size / MB / s.seconds));
  return {
    symfeedMBps,
    wireMBps: median(samples.map((s) => s.megabytesPerSecond)),
    wireBytes: samples[0]?.bytes ?? null,
    rawMBps,
    contentEncoding: encoding,
    ratio: ratio(symfeedMBps, rawMBps),
  };
}

/** Bytes a gzip answer inflates to; throws when gunzip finds it damaged. */
function gunzippedLength(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: GZIP }, (response) => {
        let length = 0;
        const count = new Writable({
          write: (chunk: Buffer, _encoding, done) => ((length += chunk.length), done()),
        });
        pipeline(response, createGunzip(), count).then(() => resolve(length), reject);
      })
      .on('error', reject);
  });
}
