import { azuriteConnectionString, STANDARD_AZURITE_PORTS } from '../local/azurite';
import { createStorageClients, ensureStorage, StorageClients } from '../shared/storage/clients';

/**
 * The storage account the management commands work on: AzureWebJobsStorage when set, else the
 * Azurite that `npm start` runs on its standard ports.
 */
export async function cliStorage(): Promise<StorageClients> {
  const storage = createStorageClients(
    process.env.AzureWebJobsStorage ?? azuriteConnectionString(STANDARD_AZURITE_PORTS),
  );
  await ensureStorage(storage);
  return storage;
}
