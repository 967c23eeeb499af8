import http from 'node:http';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

/**
 * With SYMFEED_PUBLIC_URL set, every link of the NuGet documents (v3 service index, registrations,
 * search, flat container; v2 xml:base, ids and download links) is built from it: a request with a
 * forged Host header cannot point clients elsewhere.
 */
const PUBLIC = 'https://symbols.example.com/sym';
const FORGED = 'evil.example:8443';
/** Namespaces of the XML documents: URLs that name a vocabulary, not a place of this server. */
const NAMESPACE = /^http:\/\/(www\.w3\.org|schemas\.microsoft\.com|schemas\.openxmlformats\.org)\//;

let stack: Stack;

beforeAll(async () => {
  // A trailing slash is allowed and dropped.
  stack = await startStack({ SYMFEED_PUBLIC_URL: `${PUBLIC}/` });
  await stack.upload(
    'foo.nupkg',
    await makeZip([
      {
        name: 'Foo.nuspec',
        data: '<?xml version="1.0"?><package><metadata><id>Foo</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>',
      },
    ]),
  );
  await stack.indexed('foo.nupkg');
});
afterAll(() => stack?.stop());

/** A GET whose Host header is whatever the caller says, as a forged request's would be. */
function getWithHost(path: string, host: string): Promise<{ status: number; body: string }> {
  const target = new URL(stack.host.url);
  return new Promise((resolve, reject) => {
    const request = http.get(
      { hostname: target.hostname, port: target.port, path, headers: { Host: host } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
  });
}

function links(body: string): string[] {
  return [...body.matchAll(/https?:\/\/[^"'<>\s]+/g)]
    .map((match) => match[0])
    .filter((url) => !NAMESPACE.test(url));
}

it.each([
  ['the v3 service index', '/F/default/api/v3/index.json'],
  ['a registration index', '/F/default/api/v3/registration/foo/index.json'],
  ['a search', '/F/default/api/v3/query?q=foo&prerelease=true'],
  ['the v2 service document', '/F/default/api/v2/'],
  ['a v2 listing', '/F/default/api/v2/Packages()?semVerLevel=2.0.0'],
])('%s links to SYMFEED_PUBLIC_URL whatever the Host header says', async (_label, path) => {
  const response = await getWithHost(path, FORGED);
  expect(response.status).toBe(200);
  const found = links(response.body);
  expect(found.length).toBeGreaterThan(0);
  for (const link of found) expect(link).toMatch(new RegExp(`^${PUBLIC}/F/default/api/v[23]/`));
});
