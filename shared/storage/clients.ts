import type { Pipeline, PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import { BlobServiceClient, ContainerClient, RestError } from '@azure/storage-blob';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { StorageConnection } from './connection';
import { NO_TOKEN, storageCredential } from './credential';
import { missingResourceOf, storageFaultPolicy } from './faults';
import { JsonBlobMemory } from './jsonBlobMemory';

export const CONTAINERS = {
  packages: 'packages',
  status: 'status',
  catalog: 'catalog',
  listings: 'listings',
  misses: 'misses',
} as const;
export const TABLES = {
  feeds: 'feeds',
  tokens: 'tokens',
  packages: 'packages',
  symbolKeys: 'symbolkeys',
  symbolNames: 'symbolnames',
} as const;
export const QUEUES = { deletes: 'deletes', packageEvents: 'package-events' } as const;

/**
 * Listing documents (pages of a few hundred KB) are remembered up to 64 MiB of JSON and trusted
 * for 5 s, the bound feed settings have too (FEED_SETTINGS_SECONDS): a listing changed by another
 * instance shows within it.
 */
export const LISTINGS_MEMORY = { maxBytes: 64 * 1024 * 1024, freshMs: 5_000 } as const;

/** One set of storage clients per process: the SDK clients pool their connections. */
export interface StorageClients {
  readonly blobs: BlobServiceClient;
  readonly queues: QueueServiceClient;
  readonly packagesContainer: ContainerClient;
  readonly deletesQueue: QueueClient;
  readonly statusContainer: ContainerClient;
  readonly catalogContainer: ContainerClient;
  /** The NuGet listings, materialised per feed (shared/listings). */
  readonly listingsContainer: ContainerClient;
  /** This process's memory of the listings read (jsonBlobMemory.ts), one per set of clients. */
  readonly listingsMemory: JsonBlobMemory;
  /** Keys feeds were asked for in vain, per hour (misses/missedKeys.ts). */
  readonly missesContainer: ContainerClient;
  readonly feedsTable: TableClient;
  readonly tokensTable: TableClient;
  readonly packagesTable: TableClient;
  readonly symbolKeysTable: TableClient;
  /** Keys by file name, for the web page's nearest hits (index/nameIndex.ts). */
  readonly symbolNamesTable: TableClient;
}

/**
 * The SDKs' default retries take over a minute to give up on an unreachable account; a debugger
 * waiting on a symbol would rather get a 503 in seconds and ask again.
 */
export const RETRIES = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 };

/**
 * How long one try waits for the response headers. The SDKs wait for ever by default: a storage
 * account that accepts connections and never answers (Azurite stopped with SIGSTOP, a half-open
 * connection) held a symbol request for 150 s. Reads (point reads, queries, blob properties,
 * the start of a download) answer in milliseconds: 2 s per try and three tries give a debugger
 * its 503 within about 7 s. Writes carry bodies (a 100-row transaction, an 8 MiB block) and wait
 * longer. Only the headers are timed: a download of a 2 GB entry streams at its own pace.
 */
export const TRY_TIMEOUT_MS = { read: 2_000, write: 30_000 } as const;

export function tryTimeoutOf(method: string): number {
  return method === 'GET' || method === 'HEAD' ? TRY_TIMEOUT_MS.read : TRY_TIMEOUT_MS.write;
}

/**
 * Sets the per-try limit and turns the SDK's abort at that limit into the ETIMEDOUT error both
 * SDKs' retry policies retry, and that callers answer with 503 like any other storage failure.
 */
const tryTimeoutPolicy: PipelinePolicy = {
  name: 'symfeedTryTimeout',
  async sendRequest(request, next) {
    const limit = tryTimeoutOf(request.method);
    request.timeout = limit;
    try {
      return await next(request);
    } catch (error) {
      if ((error as Error).name !== 'AbortError' || request.abortSignal?.aborted) throw error;
      throw new RestError(`storage did not answer within ${limit / 1000} s`, {
        code: 'ETIMEDOUT',
        request,
      });
    }
  },
};

/** The container or queue a request is for: the first segment after the service's own path. */
function resourceIn(serviceUrl: string): (request: PipelineRequest) => string {
  const base = new URL(serviceUrl).pathname.replace(/\/+$/, '');
  return (request) =>
    decodeURIComponent(new URL(request.url).pathname.slice(base.length).split('/')[1] ?? '');
}

/**
 * The pipeline behind a blob or queue service client. Their options take no policies (the table
 * SDK's do), but every client derived from a service client (containers, blobs, queues) shares
 * its pipeline, so the time limit and the fault policy are added there once.
 */
function withPolicies<T extends BlobServiceClient | QueueServiceClient>(client: T): T {
  const context = (client as unknown as { storageClientContext: { pipeline: Pipeline } })
    .storageClientContext;
  context.pipeline.addPolicy(tryTimeoutPolicy, { afterPhase: 'Sign' });
  context.pipeline.addPolicy(storageFaultPolicy(resourceIn(client.url)), { afterPhase: 'Sign' });
  return client;
}

/**
 * Storage did not answer, answered with an error (a missing container, table or queue included),
 * or symfeed got no token for it: a caller may retry later (503).
 */
export function isStorageFailure(error: unknown): boolean {
  return error instanceof RestError || (error as Error | undefined)?.name === 'AbortError';
}

const blobRetryOptions = {
  maxTries: RETRIES.maxRetries + 1,
  retryDelayInMs: RETRIES.retryDelayInMs,
  maxRetryDelayInMs: RETRIES.maxRetryDelayInMs,
};

/** The service clients of either form of connection, and how to make a table client. */
function serviceClients(connection: StorageConnection) {
  const tableOptions = (url: string, name: string) => ({
    // The table SDK refuses plain HTTP (Azurite's) unless told; nothing else is let through.
    allowInsecureConnection: new URL(url).protocol === 'http:',
    retryOptions: RETRIES,
    additionalPolicies: [
      { policy: tryTimeoutPolicy, position: 'perRetry' as const },
      { policy: storageFaultPolicy(() => name), position: 'perRetry' as const },
    ],
  });
  if (connection.kind === 'connectionString') {
    const { connectionString } = connection;
    // The connection string's table endpoint, as the table SDK reads it.
    const tableUrl = TableServiceClient.fromConnectionString(connectionString).url;
    return {
      blobs: BlobServiceClient.fromConnectionString(connectionString, {
        retryOptions: blobRetryOptions,
      }),
      queues: QueueServiceClient.fromConnectionString(connectionString, {
        retryOptions: blobRetryOptions,
      }),
      table: (name: string) =>
        TableClient.fromConnectionString(connectionString, name, tableOptions(tableUrl, name)),
    };
  }
  const { endpoints } = connection;
  // One credential, and so one held token, for every client.
  const credential = storageCredential(connection.credential);
  return {
    blobs: new BlobServiceClient(endpoints.blob, credential, { retryOptions: blobRetryOptions }),
    queues: new QueueServiceClient(endpoints.queue, credential, {
      retryOptions: blobRetryOptions,
    }),
    table: (name: string) =>
      new TableClient(endpoints.table, name, credential, tableOptions(endpoints.table, name)),
  };
}

export function createStorageClients(connection: StorageConnection): StorageClients {
  const services = serviceClients(connection);
  const blobs = withPolicies(services.blobs);
  const queues = withPolicies(services.queues);
  return {
    blobs,
    queues,
    packagesContainer: blobs.getContainerClient(CONTAINERS.packages),
    deletesQueue: queues.getQueueClient(QUEUES.deletes),
    statusContainer: blobs.getContainerClient(CONTAINERS.status),
    catalogContainer: blobs.getContainerClient(CONTAINERS.catalog),
    listingsContainer: blobs.getContainerClient(CONTAINERS.listings),
    listingsMemory: new JsonBlobMemory(LISTINGS_MEMORY),
    missesContainer: blobs.getContainerClient(CONTAINERS.misses),
    feedsTable: services.table(TABLES.feeds),
    tokensTable: services.table(TABLES.tokens),
    packagesTable: services.table(TABLES.packages),
    symbolKeysTable: services.table(TABLES.symbolKeys),
    symbolNamesTable: services.table(TABLES.symbolNames),
  };
}

/** Creates every container, table and queue symfeed uses; safe to run any number of times. */
export async function ensureStorage(clients: StorageClients): Promise<void> {
  await Promise.all([
    ...Object.values(CONTAINERS).map((name) =>
      clients.blobs.getContainerClient(name).createIfNotExists(),
    ),
    clients.feedsTable.createTable(),
    clients.tokensTable.createTable(),
    clients.packagesTable.createTable(),
    clients.symbolKeysTable.createTable(),
    clients.symbolNamesTable.createTable(),
    ...Object.values(QUEUES).flatMap((name) => [
      clients.queues.getQueueClient(name).createIfNotExists(),
      clients.queues.getQueueClient(`${name}-poison`).createIfNotExists(),
    ]),
  ]);
}

export type StorageService = 'blob' | 'queue' | 'table';

/** Health probes answer within this, whatever the retries of the calls they make would allow. */
export const PROBE_TIMEOUT_MS = 2_000;

export interface ProbeResult {
  readonly state: 'ok' | 'unreachable' | 'failing' | 'missing';
  /** Why not ok, in words safe to show anyone: no endpoint, no account name. */
  readonly detail?: string;
  /** The containers, tables or queues that do not exist, as `table "packages"`. */
  readonly missing?: readonly string[];
}

/**
 * Asks about every container, table and queue symfeed uses, all at once: a service is `ok` when
 * each of them answers, `missing` when some do not exist (on Azure nothing creates them at run
 * time), else `unreachable` or `failing` as the first that did not answer says.
 */
export async function probeStorage(
  clients: StorageClients,
): Promise<Record<StorageService, ProbeResult>> {
  const signal = () => AbortSignal.timeout(PROBE_TIMEOUT_MS);
  const tables = [
    clients.feedsTable,
    clients.tokensTable,
    clients.packagesTable,
    clients.symbolKeysTable,
    clients.symbolNamesTable,
  ];
  const [blob, queue, table] = await Promise.all([
    service(
      Object.values(CONTAINERS).map(
        (name) => () =>
          clients.blobs.getContainerClient(name).getProperties({ abortSignal: signal() }),
      ),
    ),
    service(
      Object.values(QUEUES).map(
        (name) => () =>
          clients.queues.getQueueClient(name).getProperties({ abortSignal: signal() }),
      ),
    ),
    // A row that never exists: "not found" is an answer, a missing table is not.
    service(
      tables.map((client) => () => client.getEntity('health', 'probe', { abortSignal: signal() })),
      404,
    ),
  ]);
  return { blob, queue, table };
}

async function service(
  calls: readonly (() => Promise<unknown>)[],
  expected?: number,
): Promise<ProbeResult> {
  const results = await Promise.all(calls.map((call) => probe(call, expected)));
  const first = (state: ProbeResult['state']) => results.find((result) => result.state === state);
  const missing = results.flatMap((result) => result.missing ?? []);
  return (
    first('unreachable') ??
    first('failing') ??
    (missing.length > 0
      ? { state: 'missing', detail: missing.join(', '), missing }
      : { state: 'ok' })
  );
}

async function probe(call: () => Promise<unknown>, expected?: number): Promise<ProbeResult> {
  const silent = {
    state: 'unreachable',
    detail: `no answer within ${PROBE_TIMEOUT_MS / 1000} s`,
  } as const;
  try {
    await call();
    return { state: 'ok' };
  } catch (error) {
    const missing = missingResourceOf(error);
    if (missing) return { state: 'missing', missing: [`${missing.kind} "${missing.name}"`] };
    if (!(error instanceof RestError)) {
      if ((error as Error).name === 'AbortError') return silent;
      throw error;
    }
    if (error.statusCode === expected) return { state: 'ok' };
    if (error.code === NO_TOKEN) return { state: 'failing', detail: 'no token for storage' };
    if (error.statusCode !== undefined) {
      return {
        state: 'failing',
        detail: `answered ${error.statusCode} ${error.code ?? ''}`.trim(),
      };
    }
    return error.code === 'ETIMEDOUT'
      ? silent
      : { state: 'unreachable', detail: error.code ?? 'no connection' };
  }
}
