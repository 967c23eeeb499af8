/**
 * The storage account symfeed works on, in either form the Functions host accepts for
 * AzureWebJobsStorage: a connection string (Azurite, development) or identity-based settings,
 * where a token credential authorises every request and no account key exists anywhere.
 * shared/config/settings.ts reads it from the environment and validates it.
 */
export type StorageConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | {
      readonly kind: 'identity';
      readonly endpoints: StorageEndpoints;
      readonly credential: CredentialChoice;
    };

export interface StorageEndpoints {
  readonly blob: string;
  readonly queue: string;
  readonly table: string;
}

/**
 * As the Functions host chooses: `managedidentity` takes the app's managed identity (a
 * user-assigned one by client id or resource id); otherwise DefaultAzureCredential's chain
 * (environment, workload identity, managed identity, Azure CLI, ...), which also serves a developer
 * signed in with `az login`.
 */
export type CredentialChoice =
  | { readonly kind: 'default' }
  | { readonly kind: 'managedIdentity'; readonly clientId?: string; readonly resourceId?: string };

/** The endpoints of an account in Azure's public cloud; other clouds name their service URIs. */
export function accountEndpoints(accountName: string): StorageEndpoints {
  return {
    blob: `https://${accountName}.blob.core.windows.net`,
    queue: `https://${accountName}.queue.core.windows.net`,
    table: `https://${accountName}.table.core.windows.net`,
  };
}

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}

/** Azurite's well-known development account; it is public and only ever valid on Azurite. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * The connection string of an Azurite on these ports. The az CLI does not understand the
 * UseDevelopmentStorage=true shorthand, and ports other than the standard ones need spelling out.
 */
export function azuriteConnectionString(
  ports: AzuritePorts,
  host = '127.0.0.1',
  scheme: 'http' | 'https' = 'http',
): string {
  return [
    `DefaultEndpointsProtocol=${scheme}`,
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_KEY}`,
    `BlobEndpoint=${scheme}://${host}:${ports.blob}/${AZURITE_ACCOUNT}`,
    `QueueEndpoint=${scheme}://${host}:${ports.queue}/${AZURITE_ACCOUNT}`,
    `TableEndpoint=${scheme}://${host}:${ports.table}/${AZURITE_ACCOUNT}`,
  ].join(';');
}

/** The Azurite `npm start` runs when no storage account is configured. */
export function azuriteConnection(ports: AzuritePorts): StorageConnection {
  return { kind: 'connectionString', connectionString: azuriteConnectionString(ports) };
}
