import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitIndexed } from '../../bench/support/storage';
import { AzuritePorts, RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { createStorageClients, ensureStorage, StorageClients } from '../../shared/storage/clients';
import { makeZip, symbolIndex } from '../support/zips';
import { HostProcess, startHostProcess } from './support/hostProcess';
import { reportFigures } from './support/poller';

/**
 * Fault: Azurite stopped and started again 10 s later, on the same ports and data, under a
 * bounded load of hits and misses (autocannon, 8 connections, 40 s) against the host (`npm start`).
 * Every answer is the right one or a 503 with Retry-After, none takes 10 s, the host is never
 * restarted, and within seconds of storage returning every request is served again.
 */
const LOAD_SECONDS = 40;
const STOP_AFTER_MS = 8_000;
const DOWN_MS = 10_000;
const BOUND_MS = 10_000;

const files = {
  small: randomBytes(4_000),
  deflated: Buffer.from('symbol bytes, deflated '.repeat(200)),
  large: randomBytes(1_000_000),
};
interface Target {
  readonly path: string;
  readonly status: 200 | 404;
  readonly bytes?: Buffer;
}
const targets: Target[] = [
  { path: '/F/default/symbols/small/1/small', status: 200, bytes: files.small },
  { path: '/F/default/symbols/deflated/1/deflated', status: 200, bytes: files.deflated },
  { path: '/F/default/symbols/large/1/large', status: 200, bytes: files.large },
  { path: '/F/default/symbols/missing/1/missing', status: 404 },
];

let ports: AzuritePorts;
let data: string;
let azurite: RunningAzurite | undefined;
let storage: StorageClients;
let host: HostProcess | undefined;

beforeAll(async () => {
  ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  data = mkdtempSync(path.join(tmpdir(), 'symfeed-azurite-'));
  azurite = await startAzurite({ ports, location: data });
  storage = createStorageClients(azurite.connection);
  await ensureStorage(storage);
  host = await startHostProcess(azurite.connectionString, await freePort());
  const zip = await makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex([
        { clientKey: 'small/1/small', blobPath: 'small.bin' },
        { clientKey: 'deflated/1/deflated', blobPath: 'deflated.txt' },
        { clientKey: 'large/1/large', blobPath: 'large.bin' },
      ]),
    },
    { name: 'small.bin', data: files.small, compress: false },
    { name: 'deflated.txt', data: files.deflated, compress: true },
    { name: 'large.bin', data: files.large, compress: false },
  ]);
  await storage.packagesContainer.getBlockBlobClient('default/restart.zip').uploadData(zip);
  expect((await waitIndexed(storage, 'default', 'restart.zip', 120_000)).state).toBe('succeeded');
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  rmSync(data, { recursive: true, force: true });
});

interface Observation {
  readonly at: number;
  readonly ms: number;
  /** Right: the file, byte for byte, or 404 for the miss. */
  readonly right: boolean;
  readonly status: number;
  readonly retryAfter: boolean;
}

/** Asks for every target in turn, checking bytes and timing, until told to stop. */
async function observe(base: string, running: () => boolean): Promise<Observation[]> {
  const seen: Observation[] = [];
  for (let i = 0; running(); i++) {
    const target = targets[i % targets.length] as Target;
    const started = Date.now();
    let status = 0;
    let right = false;
    let retryAfter = false;
    try {
      const response = await fetch(`${base}${target.path}`, {
        signal: AbortSignal.timeout(3 * BOUND_MS),
      });
      const body = Buffer.from(await response.arrayBuffer());
      status = response.status;
      retryAfter = /^\d+$/.test(response.headers.get('retry-after') ?? '');
      right = status === target.status && (!target.bytes || body.equals(target.bytes));
    } catch {
      // No answer at all: status 0, never right.
    }
    seen.push({ at: started, ms: Date.now() - started, right, status, retryAfter });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return seen;
}

it('answers right or 503 with Retry-After while storage is down, and serves again within seconds of its return', async () => {
  const base = (host as HostProcess).url;
  const pid = (host as HostProcess).pid;
  let sent = 0;
  const statuses: Record<string, number> = {};
  const wrong: string[] = [];
  const load = autocannon({
    url: base,
    connections: 8,
    duration: LOAD_SECONDS,
    timeout: BOUND_MS / 1000,
    requests: [
      {
        setupRequest: (request, context) => {
          // autocannon clears the context as it loops over its requests: the count lives here.
          const n = ++sent;
          // Every fifth request a key never asked before: a lookup in storage each time.
          const target =
            n % 5 === 0
              ? { path: `/F/default/symbols/cold${n}/1/cold`, status: 404 }
              : (targets[n % targets.length] as Target);
          context.expect = target.status;
          return { ...request, path: target.path };
        },
        onResponse: (status, _body, context, headers) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === context.expect) return;
          const retryAfter = Object.entries(headers).find(
            ([name]) => name.toLowerCase() === 'retry-after',
          );
          if (status !== 503 || !retryAfter) {
            wrong.push(
              `${status} where ${String(context.expect)} was due, Retry-After ${retryAfter?.[1]}`,
            );
          }
        },
      },
    ],
  });
  let loading = true;
  const observing = observe(base, () => loading);
  const done = load.then((result) => {
    loading = false;
    return result;
  });

  await new Promise((resolve) => setTimeout(resolve, STOP_AFTER_MS));
  const stoppedAt = Date.now();
  await azurite?.stop();
  azurite = undefined;
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
  const restartedAt = Date.now();
  azurite = await startAzurite({ ports, location: data });
  const returnedAt = Date.now();
  const result = await done;
  const seen = await observing;

  const outage = seen.filter(({ right }) => !right);
  const lastWrong = Math.max(...outage.map(({ at, ms }) => at + ms));
  reportFigures('Azurite stopped and restarted under load', {
    loadSeconds: LOAD_SECONDS,
    downSeconds: (restartedAt - stoppedAt) / 1000,
    secondsAzuriteTookToStart: (returnedAt - restartedAt) / 1000,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMaxMs: result.latency.max,
    observed: seen.length,
    observedSlowestMs: Math.max(...seen.map(({ ms }) => ms)),
    // From the moment Azurite listens on all three ports; its blob port may answer a little earlier.
    secondsFromReturnToFullService: (lastWrong - returnedAt) / 1000,
  });

  // The fault was felt, and only ever as 503 with Retry-After.
  expect(statuses['503'] ?? 0).toBeGreaterThan(0);
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(outage.filter(({ status, retryAfter }) => status !== 503 || !retryAfter)).toEqual([]);
  // No hang, no socket error: every request answered within the bound.
  expect({ errors: result.errors, timeouts: result.timeouts }).toEqual({ errors: 0, timeouts: 0 });
  expect(seen.filter(({ ms }) => ms >= BOUND_MS)).toEqual([]);
  // Full service within seconds of storage returning, from the same host process.
  expect(lastWrong - returnedAt).toBeLessThan(BOUND_MS);
  expect(seen.filter(({ at }) => at > lastWrong).length).toBeGreaterThan(targets.length * 5);
  expect(host?.alive()).toBe(true);
  expect(host?.pid).toBe(pid);
});
