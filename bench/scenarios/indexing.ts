import { performance } from 'node:perf_hooks';
import { StatusDocument } from '../../shared/packages/statusDocument';
import { ServerProcess } from '../support/serverProcess';
import { MB } from '../support/stats';
import {
  BenchStorage,
  poolStream,
  sampleBytes,
  uploadZip,
  waitIndexed,
  ZipWriter,
} from '../support/storage';

export const INDEX_FEED = 'index';

export interface IndexRun {
  readonly package: string;
  readonly state: string;
  readonly bytes: number;
  readonly entries: number;
  readonly keys: number;
  /** From the status document's history: the indexing run itself, without the scan delay. */
  readonly seconds: number;
  readonly keysPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly uploadSeconds: number;
  /** The indexing server's resident set when idle, and its peak (VmHWM) after the run. */
  readonly idleRssMB: number;
  readonly peakRssMB: number;
}

export interface IndexingPlan {
  readonly smallEntries: number;
  readonly largeBytes: number;
}

/**
 * Indexing speed and memory. Each package is indexed by a fresh server process of its own, so
 * that its VmHWM is the peak of that one run (plus the idle server), and by nothing else.
 */
export async function indexingScenario(
  storage: BenchStorage,
  plan: IndexingPlan,
  startIndexer: (name: string) => Promise<ServerProcess>,
  log: (line: string) => void,
): Promise<{ small: IndexRun; large: IndexRun }> {
  const small = await indexOne(
    storage,
    'many-small.zip',
    manySmall(plan.smallEntries),
    startIndexer,
    log,
  );
  const large = await indexOne(
    storage,
    'large.zip',
    largePackage(plan.largeBytes),
    startIndexer,
    log,
  );
  return { small, large };
}

async function indexOne(
  storage: BenchStorage,
  name: string,
  write: ZipWriter & { entries: number },
  startIndexer: (name: string) => Promise<ServerProcess>,
  log: (line: string) => void,
): Promise<IndexRun> {
  const server = await startIndexer(`indexer-${name}`);
  try {
    // The fresh indexer first sees every package already in the container and skips them.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const idle = server.memory();
    const started = performance.now();
    const bytes = await uploadZip(storage.clients, INDEX_FEED, name, write);
    const uploadSeconds = (performance.now() - started) / 1000;
    log(
      `indexing ${name}: ${(bytes / MB).toFixed(0)} MB uploaded in ${uploadSeconds.toFixed(1)} s`,
    );
    const doc = await waitIndexed(storage.clients, INDEX_FEED, name, 30 * 60_000);
    const seconds = runSeconds(doc);
    const run: IndexRun = {
      package: name,
      state: doc.state,
      bytes,
      entries: write.entries,
      keys: doc.keys.length,
      seconds,
      keysPerSecond: doc.keys.length / seconds,
      megabytesPerSecond: bytes / MB / seconds,
      uploadSeconds,
      idleRssMB: idle.rssMB,
      peakRssMB: server.memory().peakRssMB,
    };
    log(
      `indexing ${name}: ${run.state}, ${run.keys} keys in ${seconds.toFixed(1)} s ` +
        `(${run.keysPerSecond.toFixed(0)} keys/s, ${run.megabytesPerSecond.toFixed(0)} MB/s), ` +
        `peak RSS ${run.peakRssMB.toFixed(0)} MB (idle ${run.idleRssMB.toFixed(0)} MB)`,
    );
    return run;
  } finally {
    await server.stop();
  }
}

/** From the last move into `indexing` to the state the run ended in. */
function runSeconds(doc: StatusDocument): number {
  const history = doc.history;
  const end = history[history.length - 1];
  const start = [...history].reverse().find((change) => change.state === 'indexing');
  if (!start || !end) throw new Error(`${doc.name}: no indexing run in its history`);
  return Math.max(0.001, (Date.parse(end.at) - Date.parse(start.at)) / 1000);
}

/** Small files, each mapped by symbol_index.json to a key of its own, as a symbols package is. */
function manySmall(count: number): ZipWriter & { entries: number } {
  const write = (zip: Parameters<ZipWriter>[0]) => {
    const pool = sampleBytes(1024 * 1024, 7);
    const name = (i: number) => `lib/file-${String(i).padStart(6, '0')}.bin`;
    const index = Array.from({ length: count }, (_, i) => ({
      clientKey: `file-${i}.bin/${(0x10000000 + i).toString(16)}bench/file-${i}.bin`,
      blobPath: name(i),
    }));
    zip.addBuffer(Buffer.from(JSON.stringify(index)), 'symbol_index.json');
    for (let i = 0; i < count; i++) {
      const size = 512 + ((i * 37) % 1024);
      const at = (i * 997) % (pool.length - size);
      // Stored: yazl queues deflated buffers in a way that is quadratic in their number, and
      // 10,000 of them take many seconds to write; the indexer reads small entries either way.
      zip.addBuffer(
        Buffer.concat([Buffer.from(`file ${i}\n`), pool.subarray(at, at + size)]),
        name(i),
        {
          compress: false,
        },
      );
    }
  };
  return Object.assign(write, { entries: count + 1 });
}

/**
 * A large package: half its bytes in 4 MB sources under src/ (deflated; the indexer hashes each
 * whole, so it must stream them), half in big stored binaries mapped by symbol_index.json.
 */
function largePackage(total: number): ZipWriter & { entries: number } {
  const sourceSize = 4 * MB;
  // The sample bytes deflate to about 55%: enough sources for half the package's bytes.
  const sources = Math.max(1, Math.round(total / 2 / (sourceSize * 0.55)));
  const binarySize = Math.min(64 * MB, Math.max(MB, Math.floor(total / 4)));
  const binaries = Math.max(1, Math.round(total / 2 / binarySize));
  const write = (zip: Parameters<ZipWriter>[0]) => {
    const pool = sampleBytes(16 * MB, 11);
    const index = Array.from({ length: binaries }, (_, i) => ({
      clientKey: `big-${i}.bin/${(0x20000000 + i).toString(16)}bench/big-${i}.bin`,
      blobPath: `lib/big-${i}.bin`,
    }));
    zip.addBuffer(Buffer.from(JSON.stringify(index)), 'symbol_index.json');
    for (let i = 0; i < binaries; i++) {
      zip.addReadStream(poolStream(pool, binarySize, `binary ${i}\n`), `lib/big-${i}.bin`, {
        compress: false,
        size: binarySize,
      });
    }
    for (let i = 0; i < sources; i++) {
      zip.addReadStream(
        poolStream(pool, sourceSize, `// source ${i}\n`),
        `src/dir${i % 16}/source-${i}.c`,
        {
          compressionLevel: 1,
          size: sourceSize,
        },
      );
    }
  };
  return Object.assign(write, { entries: binaries + sources + 1 });
}
