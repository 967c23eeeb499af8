import { azuriteConnectionString } from '../local/azurite';
import { azuritePortsSchema } from '../shared/config/settings';
import { createStorageClients, ensureStorage, StorageClients } from '../shared/storage/clients';

/**
 * The storage account the management commands work on: AzureWebJobsStorage when set, else the
 * Azurite that `npm start` runs (on SYMFEED_AZURITE_PORTS, by default the standard ports).
 */
export async function cliStorage(): Promise<StorageClients> {
  const storage = createStorageClients(
    process.env.AzureWebJobsStorage ??
      azuriteConnectionString(azuritePortsSchema.parse(process.env.SYMFEED_AZURITE_PORTS)),
  );
  await ensureStorage(storage);
  return storage;
}
