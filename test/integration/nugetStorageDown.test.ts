import { createFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

/**
 * Every NuGet endpoint, v2 and v3, answers 503 with Retry-After while storage is down, never 500:
 * NuGet clients retry a 503, and the message says what is wrong. Storage is stopped for real (the
 * stack's Azurite process ends), once the feeds are set up.
 */
let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack();
  await createFeed(stack.rt.storage.feedsTable, { name: 'cold', visibility: 'public' });
  ({ token } = await createToken(stack.rt.storage.tokensTable, {
    feed: 'default',
    scopes: ['push', 'delete', 'read'],
  }));
  // This instance remembers the default feed, so its requests fail further on than the feed.
  expect((await fetch(`${stack.host.url}/F/default/api/v3/index.json`)).status).toBe(200);
  await stack.azurite.stop();
});
afterAll(() => stack?.stop());

async function nupkgForm(): Promise<FormData> {
  const bytes = await makeZip([
    {
      name: 'Foo.nuspec',
      data: '<?xml version="1.0"?><package><metadata><id>Foo</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>',
    },
  ]);
  const form = new FormData();
  form.append('package', new Blob([new Uint8Array(bytes)]), 'package.nupkg');
  return form;
}

const apiKey = () => ({ 'X-NuGet-ApiKey': token });

it.each([
  ['the v3 service index', 'GET', '/F/cold/api/v3/index.json'],
  ['the v2 service document', 'GET', '/F/cold/api/v2/'],
  ['a flat container index', 'GET', '/F/default/api/v3/flatcontainer/foo/index.json'],
  ['a flat container download', 'GET', '/F/default/api/v3/flatcontainer/foo/1.0.0/foo.1.0.0.nupkg'],
  ['a registration index', 'GET', '/F/default/api/v3/registration/foo/index.json'],
  ['a search', 'GET', '/F/default/api/v3/query?q=foo'],
  ['the v2 listing', 'GET', '/F/default/api/v2/Packages()'],
  ['a v2 lookup by id', 'GET', "/F/default/api/v2/FindPackagesById()?id='Foo'"],
  ['a v2 download', 'GET', '/F/default/api/v2/package/Foo/1.0.0'],
  ['a push', 'PUT', '/F/default/api/v2/package'],
  ['a symbol package push', 'PUT', '/F/default/api/v2/symbolpackage'],
  ['a delete', 'DELETE', '/F/default/api/v2/package/Foo/1.0.0'],
])('%s answers 503 with Retry-After', async (_label, method, path) => {
  const response = await fetch(`${stack.host.url}${path}`, {
    method,
    headers: method === 'GET' ? {} : apiKey(),
    ...(method === 'PUT' ? { body: await nupkgForm() } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  expect({ status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({
    status: 503,
    retryAfter: expect.stringMatching(/^\d+$/) as unknown,
  });
  expect(text).toMatch(/storage is unavailable; retry shortly/i);
  expect(response.headers.get('cache-control')).toBe('no-store');
});
