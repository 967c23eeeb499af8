import { parseStorageSettings, SettingsError } from '../shared/config/settings';
import { createStorageClients, ensureStorage, StorageClients } from '../shared/storage/clients';
import { CliError } from './output';

/**
 * The storage account the management commands work on, found as `npm start` finds it:
 * AzureWebJobsStorage (a connection string) or the identity-based AzureWebJobsStorage__*
 * settings, else the Azurite that `npm start` runs (on SYMFEED_AZURITE_PORTS, by default the
 * standard ports).
 */
export async function cliStorage(): Promise<StorageClients> {
  let storage: StorageClients;
  try {
    storage = createStorageClients(parseStorageSettings(process.env));
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    throw new CliError(`the storage settings are wrong: ${error.problems.join('; ')}`);
  }
  await ensureStorage(storage);
  return storage;
}
