import { definitions } from '../functions/all';
import { startLocalHost } from '../local/host';
import { runtime } from '../shared/runtime';

/**
 * The symfeed under test, in a process of its own so that the load generator never competes with
 * it inside one event loop. It is the local host of `npm start` with the real definitions; the
 * parent chooses the storage account and cache settings through the environment and reads the
 * URL from the IPC channel.
 *
 * BENCH_ROLES=http starts only the HTTP functions: a second server on the same storage (the
 * cold one) must not index the packages a second time or take the queue's messages.
 */
async function main(): Promise<void> {
  const httpOnly = process.env.BENCH_ROLES === 'http';
  const rt = runtime();
  const verbose = process.env.BENCH_VERBOSE === '1';
  const host = await startLocalHost({
    definitions: httpOnly ? definitions.filter((d) => d.kind === 'http') : definitions,
    port: Number(process.env.BENCH_PORT ?? 0),
    container: (name) => rt.storage.blobs.getContainerClient(name),
    queues: rt.storage.queues,
    // Indexing time is read from the status document; a short scan interval only shortens waits.
    pollIntervalMs: 200,
    log: (line) => {
      if (verbose) process.stderr.write(`[server] ${line}\n`);
    },
  });
  // A clean exit on request, so that --cpu-prof gets to write its profile.
  process.on('message', (message) => {
    if (message === 'stop') void host.close().finally(() => process.exit(0));
    // The JavaScript heap, which /proc cannot tell apart from the rest of the resident set.
    if (message === 'heap') process.send?.({ type: 'heap', ...process.memoryUsage() });
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', url: host.url.replace('localhost', '127.0.0.1') });
}

main().catch((error: Error) => {
  process.stderr.write(`bench server failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
