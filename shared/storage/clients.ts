import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';

export const CONTAINERS = { packages: 'packages', status: 'status', catalog: 'catalog' } as const;
export const TABLES = {
  feeds: 'feeds',
  tokens: 'tokens',
  packages: 'packages',
  symbolKeys: 'symbolkeys',
} as const;
export const QUEUES = { deletes: 'deletes' } as const;

/** One set of storage clients per process: the SDK clients pool their connections. */
export interface StorageClients {
  readonly blobs: BlobServiceClient;
  readonly queues: QueueServiceClient;
  readonly packagesContainer: ContainerClient;
  readonly deletesQueue: QueueClient;
  readonly statusContainer: ContainerClient;
  readonly feedsTable: TableClient;
  readonly tokensTable: TableClient;
  readonly packagesTable: TableClient;
  readonly symbolKeysTable: TableClient;
}

/**
 * The SDKs' default retries take over a minute to give up on an unreachable account; a debugger
 * waiting on a symbol would rather get a 503 in seconds and ask again.
 */
export const RETRIES = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 };

export function createStorageClients(connectionString: string): StorageClients {
  // No per-try timeout: a download of a 2 GB entry is one long try.
  const retryOptions = {
    maxTries: RETRIES.maxRetries + 1,
    retryDelayInMs: RETRIES.retryDelayInMs,
    maxRetryDelayInMs: RETRIES.maxRetryDelayInMs,
  };
  const blobs = BlobServiceClient.fromConnectionString(connectionString, { retryOptions });
  const queues = QueueServiceClient.fromConnectionString(connectionString, { retryOptions });
  // Azurite speaks plain HTTP; the table SDK refuses that unless told.
  const table = (name: string) =>
    TableClient.fromConnectionString(connectionString, name, {
      allowInsecureConnection: true,
      retryOptions: RETRIES,
    });
  return {
    blobs,
    queues,
    packagesContainer: blobs.getContainerClient(CONTAINERS.packages),
    deletesQueue: queues.getQueueClient(QUEUES.deletes),
    statusContainer: blobs.getContainerClient(CONTAINERS.status),
    feedsTable: table(TABLES.feeds),
    tokensTable: table(TABLES.tokens),
    packagesTable: table(TABLES.packages),
    symbolKeysTable: table(TABLES.symbolKeys),
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
    ...Object.values(QUEUES).flatMap((name) => [
      clients.queues.getQueueClient(name).createIfNotExists(),
      clients.queues.getQueueClient(`${name}-poison`).createIfNotExists(),
    ]),
  ]);
}

/** True when the blob service answers; used by the health endpoint. */
export async function storageReachable(clients: StorageClients): Promise<boolean> {
  try {
    // The SDK would retry an unreachable endpoint for a minute; a health probe wants an answer now.
    await clients.packagesContainer.getProperties({ abortSignal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}
