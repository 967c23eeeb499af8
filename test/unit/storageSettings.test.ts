import {
  parseSettings,
  parseStorageSettings,
  storageConfigured,
} from '../../shared/config/settings';

/** AzureWebJobsStorage in the forms the Functions host accepts, and what combines badly. */
const CLIENT_ID = '6f1d3b2a-0c4e-4a8b-9d7e-112233445566';
const RESOURCE_ID =
  '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/symfeed';
const storage = (env: NodeJS.ProcessEnv) => parseSettings(env).storage;

describe('a connection string', () => {
  it.each([
    'UseDevelopmentStorage=true',
    'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net',
    'BlobEndpoint=https://acct.blob.core.windows.net;QueueEndpoint=https://acct.queue.core.windows.net;TableEndpoint=https://acct.table.core.windows.net;SharedAccessSignature=sv=2022&sig=x',
  ])('is taken as it is: %s', (connectionString) => {
    expect(storage({ AzureWebJobsStorage: connectionString })).toEqual({
      kind: 'connectionString',
      connectionString,
    });
  });

  it('must be one', () => {
    expect(() => parseSettings({ AzureWebJobsStorage: 'my-account' })).toThrow(
      'setting AzureWebJobsStorage is invalid (must be a storage connection string',
    );
  });
});

describe('identity-based settings', () => {
  it('take the account name for all three services, and DefaultAzureCredential', () => {
    expect(storage({ AzureWebJobsStorage__accountName: 'symfeedstore' })).toEqual({
      kind: 'identity',
      endpoints: {
        blob: 'https://symfeedstore.blob.core.windows.net',
        queue: 'https://symfeedstore.queue.core.windows.net',
        table: 'https://symfeedstore.table.core.windows.net',
      },
      credential: { kind: 'default' },
    });
  });

  it('take service URIs, which win over the account name, without their trailing slash', () => {
    expect(
      storage({
        AzureWebJobsStorage__accountName: 'symfeedstore',
        AzureWebJobsStorage__blobServiceUri: 'https://127.0.0.1:10000/devstoreaccount1/',
        AzureWebJobsStorage__queueServiceUri: 'https://127.0.0.1:10001/devstoreaccount1',
        AzureWebJobsStorage__credential: 'managedIdentity',
      }),
    ).toEqual({
      kind: 'identity',
      endpoints: {
        blob: 'https://127.0.0.1:10000/devstoreaccount1',
        queue: 'https://127.0.0.1:10001/devstoreaccount1',
        table: 'https://symfeedstore.table.core.windows.net',
      },
      credential: { kind: 'managedIdentity' },
    });
  });

  it('name a user-assigned identity by client id or resource id', () => {
    const uris = {
      AzureWebJobsStorage__blobServiceUri: 'https://a.blob.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net',
      AzureWebJobsStorage__tableServiceUri: 'https://a.table.core.windows.net',
      AzureWebJobsStorage__credential: 'managedidentity',
    };
    expect(storage({ ...uris, AzureWebJobsStorage__clientId: CLIENT_ID })).toMatchObject({
      credential: { kind: 'managedIdentity', clientId: CLIENT_ID },
    });
    expect(
      storage({ ...uris, AzureWebJobsStorage__managedIdentityResourceId: RESOURCE_ID }),
    ).toMatchObject({ credential: { kind: 'managedIdentity', resourceId: RESOURCE_ID } });
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    [
      'a connection string beside them',
      {
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__accountName: 'a1b',
      },
      /setting AzureWebJobsStorage__accountName conflicts with AzureWebJobsStorage, which holds a connection string/,
    ],
    [
      'a blob URI without the queue and table ones',
      { AzureWebJobsStorage__blobServiceUri: 'https://a.blob.core.windows.net' },
      /setting AzureWebJobsStorage__queueServiceUri is not set \(identity-based storage needs AzureWebJobsStorage__accountName or the URI of each service\); setting AzureWebJobsStorage__tableServiceUri is not set/,
    ],
    [
      'a client id without credential=managedidentity',
      { AzureWebJobsStorage__accountName: 'abc', AzureWebJobsStorage__clientId: CLIENT_ID },
      /setting AzureWebJobsStorage__clientId needs AzureWebJobsStorage__credential=managedidentity/,
    ],
    [
      'a client id and a resource id',
      {
        AzureWebJobsStorage__accountName: 'abc',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: CLIENT_ID,
        AzureWebJobsStorage__managedIdentityResourceId: RESOURCE_ID,
      },
      /setting AzureWebJobsStorage__managedIdentityResourceId conflicts with AzureWebJobsStorage__clientId/,
    ],
    [
      'another credential',
      { AzureWebJobsStorage__accountName: 'abc', AzureWebJobsStorage__credential: 'azurecli' },
      /setting AzureWebJobsStorage__credential is invalid \(must be managedidentity, or unset for DefaultAzureCredential\)/,
    ],
    [
      'a bad account name, service URI and client id',
      {
        AzureWebJobsStorage__accountName: 'My_Account',
        AzureWebJobsStorage__blobServiceUri: 'a.blob.core.windows.net',
        AzureWebJobsStorage__clientId: 'me',
      },
      /AzureWebJobsStorage__accountName is invalid \(must be a storage account name.*AzureWebJobsStorage__blobServiceUri is invalid \(must be the service URL.*AzureWebJobsStorage__clientId is invalid \(must be the client id/,
    ],
  ])('refuse %s, naming the settings', (_what, env, message) => {
    expect(() => parseSettings(env)).toThrow(message);
  });

  it('say what to set when nothing is', () => {
    expect(() => parseSettings({})).toThrow(
      'setting AzureWebJobsStorage is not set (a connection string; or, to connect with an identity, AzureWebJobsStorage__accountName or AzureWebJobsStorage__blobServiceUri, __queueServiceUri and __tableServiceUri)',
    );
  });
});

describe('without any storage setting', () => {
  it('npm start and the symfeed command take the Azurite of SYMFEED_AZURITE_PORTS', () => {
    const env = { SYMFEED_AZURITE_PORTS: '20000,20001,20002', AzureWebJobsStorage: '' };
    expect(storageConfigured(env)).toBe(false);
    const expected = expect.stringContaining(
      'TableEndpoint=http://127.0.0.1:20002/devstoreaccount1',
    );
    expect(parseSettings(env, { azuriteWhenUnset: true }).storage).toEqual({
      kind: 'connectionString',
      connectionString: expected,
    });
    expect(parseStorageSettings(env)).toEqual({
      kind: 'connectionString',
      connectionString: expected,
    });
    expect(storageConfigured({ AzureWebJobsStorage__accountName: 'abc' })).toBe(true);
  });
});
