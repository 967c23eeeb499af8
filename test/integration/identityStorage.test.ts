import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../local/ports';
import { packageUidFor } from '../../shared/packages/packageUid';
import { HostProcess, startHostProcess } from '../faults/support/hostProcess';
import {
  CLIENT_ID,
  OAuthStorage,
  startOAuthStorage,
  storageRequest,
} from '../support/oauthStorage';
import { makeZip, smallAndLarge } from '../support/zips';

/**
 * The whole product on identity-based storage, as on Azure with a managed identity: the built
 * `npm start` with the AzureWebJobsStorage__* settings of a user-assigned identity, Azurite in
 * OAuth mode (HTTPS, bearer tokens only) and a managed-identity endpoint, and no account key
 * anywhere in its environment. npm test builds dist/ first.
 */
const ADMIN = 'admin-token-for-the-identity-test-0123456789';
const PUSH = `sf_${'A'.repeat(43)}`;
const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'symfeed.js');
// Over the inline limit (16 KiB), so that it is read from its package with the identity's token.
const small = Buffer.from('a small file, hot once read\n'.repeat(700));
// Stored, so that it honours a range; well over the hot-file size, so it streams from blobRange.
const large = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) % 251));

let storage: OAuthStorage;
let host: HostProcess;
let hostEnv: Record<string, string>;

beforeAll(async () => {
  storage = await startOAuthStorage();
  hostEnv = {
    ...storage.env,
    SYMFEED_ADMIN_TOKEN: ADMIN,
    SYMFEED_DEFAULT_TOKEN: PUSH,
    SYMFEED_LOCATION_CACHE_SECONDS: '0',
    SYMFEED_MISS_CACHE_SECONDS: '0',
  };
  // No connection string: the identity settings are the storage account.
  host = await startHostProcess('', await freePort(), hostEnv);
});

afterAll(async () => {
  await host?.stop();
  await storage?.stop();
});

/** What the admin API answers: a package's status, or a list of packages. */
interface AdminBody {
  state?: string;
  packages?: Listed[];
}

const admin = async (route: string, init: RequestInit = {}) => {
  const response = await fetch(`${host.url}/manage${route}`, {
    ...init,
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
  });
  const body = (await response.json().catch(() => ({}))) as AdminBody;
  return { status: response.status, body };
};

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} within 60 s; host:\n${host.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Listed {
  uid: string;
  id: string;
  version: string;
  state: string;
}
const listed = async (id: string, version: string, state: string) =>
  until(`${id} ${version} ${state}`, async () => {
    const { body } = await admin('/feeds/default/packages');
    return body.packages?.find((p) => p.id === id && p.version === version && p.state === state);
  });

const symbol = (key: string, headers: Record<string, string> = {}) =>
  fetch(`${host.url}/F/default/symbols/${key}`, { headers });

const nupkg = (id: string, version: string) =>
  makeZip([
    {
      name: `${id}.nuspec`,
      data: `<?xml version="1.0"?><package><metadata><id>${id}</id><version>${version}</version><authors>a</authors><description>d</description></metadata></package>`,
    },
    {
      name: 'symbol_index.json',
      data: JSON.stringify([{ clientKey: `${id}/${version}/f`, blobPath: 'f.txt' }]),
    },
    { name: 'f.txt', data: `${id} ${version}` },
  ]);

/** As NuGet pushes: a multipart body with the package as its one file. */
async function push(id: string, version: string): Promise<Response> {
  const form = new FormData();
  form.append('package', new Blob([new Uint8Array(await nupkg(id, version))]), 'package.nupkg');
  return fetch(`${host.url}/F/default/api/v2/package`, {
    method: 'PUT',
    headers: { 'X-NuGet-ApiKey': PUSH },
    body: form,
  });
}

it('runs with no account key anywhere, on tokens of the user-assigned identity', () => {
  expect(JSON.stringify(hostEnv)).not.toMatch(/AccountKey|SharedAccessSignature/i);
  expect(hostEnv.AzureWebJobsStorage).toBeUndefined();
  expect(host.output()).not.toContain('on its own Azurite');
  expect(storage.identity.requests.length).toBeGreaterThan(0);
  expect(storage.identity.requests).toContainEqual({
    resource: 'https://storage.azure.com',
    clientId: CLIENT_ID,
    status: 200,
  });
});

it('indexes an uploaded package and serves its small and large entries and a range', async () => {
  const zip = await smallAndLarge(small, large);
  const put = await storageRequest(
    storage,
    'PUT',
    `${storage.azurite.endpoints.blob}/packages/default/files.zip`,
    { 'x-ms-blob-type': 'BlockBlob' },
    zip,
  );
  expect(put.status).toBe(201);
  const uid = packageUidFor('default', 'files.zip');
  await until('files.zip indexed', async () => {
    const { body } = await admin(`/feeds/default/packages/${uid}`);
    return body.state === 'succeeded' ? body : undefined;
  });

  for (let i = 0; i < 2; i++) {
    // The first read fills the hot-file cache; the second comes from memory.
    const response = await symbol('small/1/small');
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(small);
  }
  const whole = await symbol('large/1/large');
  expect(whole.status).toBe(200);
  expect(Buffer.from(await whole.arrayBuffer()).equals(large)).toBe(true);
  const range = await symbol('large/1/large', { Range: 'bytes=1000000-1000099' });
  expect(range.status).toBe(206);
  expect(Buffer.from(await range.arrayBuffer())).toEqual(large.subarray(1_000_000, 1_000_100));

  const deleted = await admin(`/feeds/default/packages/${uid}`, {
    method: 'DELETE',
    body: JSON.stringify({ reason: 'identity test' }),
  });
  expect(deleted.status).toBe(202);
  await until('files.zip deleted', async () => {
    const { body } = await admin(`/feeds/default/packages/${uid}`);
    return body.state === 'deleted' ? body : undefined;
  });
  expect((await symbol('small/1/small')).status).toBe(404);
});

it('takes a NuGet push and delete', async () => {
  expect((await push('Ident.Lib', '1.0.0')).status).toBe(202);
  await listed('Ident.Lib', '1.0.0', 'succeeded');
  const served = await symbol('Ident.Lib/1.0.0/f');
  expect(await served.text()).toBe('Ident.Lib 1.0.0');
  const deleted = await fetch(`${host.url}/F/default/api/v2/package/Ident.Lib/1.0.0`, {
    method: 'DELETE',
    headers: { 'X-NuGet-ApiKey': PUSH },
  });
  expect(deleted.status).toBeLessThan(300);
  await listed('Ident.Lib', '1.0.0', 'deleted');
  expect((await symbol('Ident.Lib/1.0.0/f')).status).toBe(404);
});

it('applies retention from the symfeed command, which finds the same storage by the same settings', async () => {
  expect((await push('Kept.Lib', '1.0.0')).status).toBe(202);
  await listed('Kept.Lib', '1.0.0', 'succeeded');
  expect((await push('Kept.Lib', '2.0.0')).status).toBe(202);
  await listed('Kept.Lib', '2.0.0', 'succeeded');
  const feed = await admin('/feeds/default', {
    method: 'PUT',
    body: JSON.stringify({ retention: { keepLatestPerId: 1 } }),
  });
  expect(feed.status).toBe(200);
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [CLI, 'retention', 'run', 'default'],
    { env: { PATH: process.env.PATH ?? '', ...storage.env } },
  );
  expect(stdout).toContain('Kept.Lib 1.0.0');
  expect(stderr).toContain('retention queued 1 package of feed "default" for deletion');
  await listed('Kept.Lib', '1.0.0', 'deleted');
  expect((await symbol('Kept.Lib/1.0.0/f')).status).toBe(404);
  expect(await (await symbol('Kept.Lib/2.0.0/f')).text()).toBe('Kept.Lib 2.0.0');
});

describe('when the identity gives no usable token', () => {
  let failing: HostProcess;

  /** A host of its own on tokens that live 6 s, so that it renews them within the test. */
  beforeAll(async () => {
    await host.stop();
    storage.identity.lifetimeSeconds = 6;
    failing = await startHostProcess('', await freePort(), hostEnv);
  });

  afterAll(async () => {
    await failing?.stop();
    storage.identity.mode = 'valid';
    storage.identity.lifetimeSeconds = 3600;
  });

  it.each([
    ['refuses', 'refuse', /storage: symfeed got no token for storage: /],
    [
      'hands out an expired token',
      'expired',
      /storage: storage refused symfeed's credential: 40[13] AuthenticationFailed/,
    ],
  ] as const)(
    'answers 503 with a log line, never 500 or a hang, when the endpoint %s',
    async (_what, mode, logLine) => {
      storage.identity.mode = mode;
      // Until the token the host holds has expired.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      for (const key of ['never/asked/for', 'large/1/large']) {
        const started = Date.now();
        const response = await fetch(`${failing.url}/F/default/symbols/${key}`);
        expect(`${response.status} ${await response.text()}`).toMatch(
          /^503 Symbol storage is unavailable/,
        );
        expect(Date.now() - started).toBeLessThan(30_000);
      }
      expect(failing.output()).toMatch(logLine);
      expect(failing.alive()).toBe(true);
    },
  );
});
