import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startLatencyProxy, LatencyProxy } from '../../bench/support/latencyProxy';
import { BenchStorage, startBenchStorage } from '../../bench/support/storage';
import { createStorageClients } from '../../shared/storage/clients';

/** The bench's Azure latency model: a delay before each storage response, and a count per service. */
describe('the bench latency proxy', () => {
  const LATENCY_MS = 40;
  let storage: BenchStorage;
  let proxy: LatencyProxy;
  let blobUrl: string;

  beforeAll(async () => {
    storage = await startBenchStorage(['default']);
    const container = storage.clients.blobs.getContainerClient('latencyproxy');
    await container.createIfNotExists({ access: 'blob' });
    const blob = container.getBlockBlobClient('a.bin');
    await blob.upload(Buffer.from('four'), 4);
    blobUrl = blob.url;
    proxy = await startLatencyProxy(storage.ports, LATENCY_MS);
  }, 60_000);

  afterAll(async () => {
    await proxy.close();
    await storage.azurite.stop();
  });

  const headersAfterMs = (url: string) =>
    new Promise<{ ms: number; body: string }>((resolve, reject) => {
      const start = performance.now();
      http
        .get(url, (response) => {
          const ms = performance.now() - start;
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ ms, body }));
        })
        .on('error', reject);
    });

  it('holds each response back by the latency and passes it on whole', async () => {
    const proxied = await headersAfterMs(proxy.blobUrl(blobUrl));
    expect(proxied.body).toBe('four');
    expect(proxied.ms).toBeGreaterThanOrEqual(LATENCY_MS);
    expect(proxy.appliedDelayP50Ms()).toBeGreaterThanOrEqual(LATENCY_MS - 1);
  });

  it('counts the requests to each service until reset, SDK clients on its connection string included', async () => {
    proxy.reset();
    expect(proxy.total()).toBe(0);
    const clients = createStorageClients({
      kind: 'connectionString',
      connectionString: proxy.connectionString,
    });
    await clients.blobs.getContainerClient('latencyproxy').getBlobClient('a.bin').getProperties();
    await headersAfterMs(proxy.blobUrl(blobUrl));
    await clients.feedsTable.getEntity('default', 'default').catch(() => undefined);
    expect(proxy.counts()).toEqual({ blob: 2, queue: 0, table: 1 });
    expect(proxy.total()).toBe(3);
    proxy.reset();
    expect(proxy.counts()).toEqual({ blob: 0, queue: 0, table: 0 });
  });
});
