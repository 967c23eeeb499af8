import { Readable } from 'node:stream';
import { apiPorts, servingPorts } from '../../functions/ports';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { handleAdmin } from '../../shared/admin/adminApi';
import { credentialsFrom } from '../../shared/feeds/access';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { indexPackage } from '../../shared/indexing/indexPackage';
import { handlePackageEndpoint } from '../../shared/nuget/api';
import { NuGetRequest } from '../../shared/nuget/nugetHttp';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { createRuntime, Runtime } from '../../shared/runtime';
import { parseSettings } from '../../shared/config/settings';
import { serveSymbol } from '../../shared/serve/serveSymbol';
import { ensureStorage } from '../../shared/storage/clients';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * The instance that takes a delete request stops serving the package at once, before any deleter
 * runs: there is no host here, so no queue message is ever taken, and what changes is only what
 * the request itself did.
 */
let azurite: RunningAzurite;
let rt: Runtime;
const ADMIN = 'a'.repeat(40);

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  rt = createRuntime(
    parseSettings({ AzureWebJobsStorage: azurite.connectionString, SYMFEED_ADMIN_TOKEN: ADMIN }),
  );
  await ensureStorage(rt.storage);
  await ensureFeed(rt.storage.feedsTable, { name: 'default', visibility: 'public' });
}, 60_000);
afterAll(() => azurite?.stop());

async function indexedPackage(name: string, key: string, id: string): Promise<string> {
  const bytes = await makeZip([
    {
      name: `${id}.nuspec`,
      data: `<?xml version="1.0"?><package><metadata><id>${id}</id><version>1.0.0</version></metadata></package>`,
    },
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: 'f.txt' }]) },
    { name: 'f.txt', data: `the file of ${name}` },
  ]);
  await rt.storage.packagesContainer.getBlockBlobClient(`default/${name}`).uploadData(bytes);
  await indexPackage({ storage: rt.storage, settings: rt.settings }, 'default', name);
  return packageUidFor('default', name);
}

const get = async (key: string) =>
  (
    await serveSymbol(servingPorts(rt), {
      method: 'GET',
      feed: 'default',
      rawKey: key,
      credentials: credentialsFrom(null),
    })
  ).status;

it('through the admin API', async () => {
  const uid = await indexedPackage('admin.zip', 'admin-key', 'Admin.Lib');
  // Served, and its location remembered: nothing but the request can make the next answer differ.
  expect(await get('admin-key')).toBe(200);
  const response = await handleAdmin(
    apiPorts(rt),
    'deletePackage',
    {
      params: { feed: 'default', uid },
      query: new URLSearchParams(),
      authorization: `Bearer ${ADMIN}`,
      body: null,
    },
    () => undefined,
  );
  expect(response.status).toBe(202);
  expect(await get('admin-key')).toBe(404);
  expect((await getPackageRow(rt.storage.packagesTable, 'default', uid))?.state).toBe(
    'deletingqueued',
  );
});

it('through NuGet', async () => {
  await indexedPackage('nuget.zip', 'nuget-key', 'NuGet.Lib');
  const { token } = await createToken(rt.storage.tokensTable, {
    feed: 'default',
    scopes: ['delete'],
  });
  expect(await get('nuget-key')).toBe(200);
  const request: NuGetRequest = {
    method: 'DELETE',
    url: 'http://localhost/F/default/api/v2/package/NuGet.Lib/1.0.0',
    feedSegment: 'default',
    params: { feed: 'default', rest: 'NuGet.Lib/1.0.0' },
    query: new URLSearchParams(),
    header: (name) => (name.toLowerCase() === 'x-nuget-apikey' ? token : null),
    body: () => Readable.from([]),
  };
  const response = await handlePackageEndpoint(apiPorts(rt), request, {
    symbols: false,
    maxBytes: 1024,
  });
  expect(response.status).toBe(202);
  expect(await get('nuget-key')).toBe(404);
});
