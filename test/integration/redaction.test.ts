import { request as httpRequest } from 'node:http';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

/**
 * Tokens never reach a log line: every route is driven with every form of credentials through the
 * local host, whose log is captured, in good weather, with a Host header no URL can be built
 * from, and with storage down; then no captured line may hold a secret.
 */
const ADMIN_TOKEN = 'admin-token-for-the-redaction-test-0123456789';
let stack: Stack;
let token: string;
let secrets: string[];
let nupkg: Buffer;

beforeAll(async () => {
  stack = await startStack({ SYMFEED_ADMIN_TOKEN: ADMIN_TOKEN });
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'priv', visibility: 'private' });
  ({ token } = await createToken(stack.rt.storage.tokensTable, {
    feed: 'priv',
    scopes: ['read', 'push', 'delete'],
  }));
  secrets = [
    token,
    token.slice(3),
    ADMIN_TOKEN,
    basic(token),
    basic(ADMIN_TOKEN),
    encodeURIComponent(token),
  ];
  nupkg = await makeZip([
    {
      name: 'Redact.nuspec',
      data: '<?xml version="1.0"?><package><metadata><id>Redact</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>',
    },
  ]);
});
afterAll(() => stack?.stop());

const basic = (secret: string) => Buffer.from(`user:${secret}`).toString('base64');

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body?: 'push' | 'json';
}

/** Every route symfeed declares, with a token in the path where one can stand. */
function calls(secret: string): Call[] {
  const t = encodeURIComponent(secret);
  const pdb = 'console64.pdb/62a237fe30c7ef474c4c44205044422e1/console64.pdb';
  const buildId = '0123456789abcdef0123456789abcdef01234567';
  return [
    { method: 'GET', path: `/F/priv/symbols/${pdb}` },
    { method: 'HEAD', path: `/F/priv/symbols/${pdb}` },
    { method: 'GET', path: `/F/priv/auth/${t}/symbols/${pdb}` },
    { method: 'HEAD', path: `/F/priv/auth/${t}/symbols/${pdb}` },
    { method: 'GET', path: `/F/priv/auth/${t}` },
    { method: 'GET', path: `/F/priv/auth/${t}?x=1` },
    { method: 'GET', path: `/F/priv/buildid/${buildId}/debuginfo` },
    { method: 'GET', path: `/F/priv/auth/${t}/buildid/${buildId}/debuginfo` },
    { method: 'GET', path: `/F/priv/api/v3/index.json` },
    { method: 'GET', path: `/F/priv/api/v3/flatcontainer/redact/index.json` },
    { method: 'GET', path: `/F/priv/api/v3/flatcontainer/redact/1.0.0/redact.1.0.0.nupkg` },
    { method: 'GET', path: `/F/priv/api/v3/registration/redact/index.json` },
    { method: 'GET', path: `/F/priv/api/v3/registration/redact/page/1.0.0/2.0.0` },
    { method: 'GET', path: `/F/priv/api/v3/query?q=redact` },
    { method: 'PUT', path: `/F/priv/api/v2/package`, body: 'push' },
    { method: 'PUT', path: `/F/priv/api/v2/package/`, body: 'push' },
    { method: 'PUT', path: `/F/priv/api/v2/symbolpackage`, body: 'push' },
    { method: 'DELETE', path: `/F/priv/api/v2/package/redact/1.0.0` },
    { method: 'GET', path: `/F/priv/api/v2/` },
    { method: 'GET', path: `/F/priv/api/v2/Packages()?$filter=Id eq 'Redact'` },
    { method: 'GET', path: `/F/priv/api/v2/FindPackagesById()?id='Redact'` },
    { method: 'GET', path: `/F/priv/api/v2/package/redact/1.0.0` },
    { method: 'GET', path: `/F/priv,own,succeeded/api/v2/Packages()` },
    { method: 'GET', path: `/F/priv/api/v2/auth/${t}` },
    { method: 'GET', path: `/F/priv/api/v2/auth/${t}/Packages()` },
    { method: 'GET', path: `/manage/feeds` },
    { method: 'PUT', path: `/manage/feeds/priv`, body: 'json' },
    { method: 'GET', path: `/manage/feeds/priv/tokens` },
    { method: 'POST', path: `/manage/feeds/priv/tokens`, body: 'json' },
    { method: 'DELETE', path: `/manage/tokens/${t}` },
    { method: 'GET', path: `/manage/feeds/priv/packages` },
    { method: 'GET', path: `/manage/feeds/priv/packages/${t}` },
    { method: 'DELETE', path: `/manage/feeds/priv/packages/${t}`, body: 'json' },
    { method: 'DELETE', path: `/manage/feeds/${t}` },
    { method: 'GET', path: `/health` },
  ];
}

/** Every form a client can present a secret in, the path form included (calls() places it). */
function credentialForms(secret: string): Record<string, string>[] {
  return [
    {},
    { Authorization: `Basic ${basic(secret)}` },
    { Authorization: `Bearer ${secret}` },
    { 'X-NuGet-ApiKey': secret },
  ];
}

function send(
  call: Call,
  headers: Record<string, string>,
  host?: string,
): Promise<{ status: number; body: string }> {
  const boundary = 'redactionboundary';
  const body =
    call.body === 'push'
      ? Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n`,
          ),
          nupkg,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ])
      : call.body === 'json'
        ? Buffer.from(JSON.stringify({ visibility: 'private', scopes: ['read'] }))
        : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${stack.host.url}${call.path.replace(/ /g, '%20')}`,
      {
        method: call.method,
        agent: false,
        headers: {
          ...headers,
          ...(host ? { Host: host } : {}),
          ...(call.body === 'push'
            ? { 'Content-Type': `multipart/form-data; boundary=${boundary}` }
            : call.body === 'json'
              ? { 'Content-Type': 'application/json' }
              : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function leaks(): string[] {
  return stack.logs.filter((line) => secrets.some((secret) => line.includes(secret)));
}

async function driveEverything(
  host?: string,
  presented = [token, ADMIN_TOKEN],
): Promise<{ call: string; status: number }[]> {
  const results: { call: string; status: number }[] = [];
  for (const secret of presented) {
    for (const headers of credentialForms(secret)) {
      for (const call of calls(secret)) {
        const { status } = await send(call, headers, host);
        results.push({ call: `${call.method} ${call.path} ${Object.keys(headers)}`, status });
      }
    }
  }
  // Whatever the indexer and the deleter log about what was pushed and deleted counts too.
  await stack.host.drain();
  return results;
}

it('logs no token from any route and any form of credentials', async () => {
  const results = await driveEverything();
  expect(results.filter((r) => r.status >= 500)).toEqual([]);
  expect(leaks()).toEqual([]);
  // The logs did record these requests: the v2 feed logs each URL it answers.
  expect(stack.logs.some((line) => line.includes('/auth/[redacted]'))).toBe(true);
});

it('answers a Host header that makes no URL with 400 and logs no token', async () => {
  for (const host of ['bad host', 'a/b', 'x:port', '[::1']) {
    const results = await driveEverything(host);
    expect(results.filter((r) => r.status !== 400)).toEqual([]);
  }
  const response = await send({ method: 'GET', path: '/health' }, {}, 'bad host');
  expect(response.body).toMatch(/Host header/);
  expect(leaks()).toEqual([]);
});

it('logs no token when storage is down', async () => {
  await stack.azurite.stop();
  // Each request waits out the storage clients' retries; the feed token alone keeps this short.
  const results = await driveEverything(undefined, [token]);
  expect(results.some((r) => r.status >= 500)).toBe(true);
  expect(leaks()).toEqual([]);
});
