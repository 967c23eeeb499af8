import { createHash } from 'node:crypto';
import { appendCatalog, catalogItems } from '../../shared/catalog/appendCatalog';
import { catalogEventOf } from '../../shared/catalog/catalogShapes';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { requestDelete } from '../../shared/packages/deletePackage';
import { packageUidFor } from '../../shared/packages/packageUid';
import { startStack, Stack } from '../support/stack';
import { runCli } from '../support/cli';
import { makeZip } from '../support/zips';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'team', visibility: 'private' });
});

afterAll(async () => {
  await stack?.stop();
});

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('base64');
}

async function nupkg(id: string, version: string): Promise<Buffer> {
  const nuspec = `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata><id>${id}</id><version>${version}</version><authors>t</authors><description>d</description></metadata>
</package>`;
  return makeZip([
    { name: `${id}.nuspec`, data: nuspec },
    { name: 'lib/readme.txt', data: id },
  ]);
}

/** What the tests read of the catalog's documents. */
interface Doc {
  readonly [field: string]: unknown;
  readonly '@id': string;
  readonly '@type': string;
  readonly count: number;
  readonly parent: string;
  readonly version: string;
  readonly items: Doc[];
  readonly resources: Doc[];
}

async function get(url: string, token?: string): Promise<{ status: number; body: Doc }> {
  const response = await fetch(url, {
    headers: token
      ? { Authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` }
      : {},
  });
  const text = await response.text();
  return { status: response.status, body: response.status === 200 ? JSON.parse(text) : text };
}

async function itemsOnceThere(feed: string, count: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await stack.host.drain();
    const items = await catalogItems(stack.rt.storage.catalogContainer, feed);
    if (items.length >= count || Date.now() > deadline) return items;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it('appends what uploads, pushes and deletes do, and serves it as NuGet Catalog/3.0.0', async () => {
  const uploaded = await nupkg('Up.Lib', '1.0.0');
  await stack.upload('up.nupkg', uploaded);
  await stack.indexed('up.nupkg');

  const pushed = await nupkg('Pushed.Lib', '2.0.0');
  const push = (
    await createToken(stack.rt.storage.tokensTable, { feed: 'default', scopes: ['push'] })
  ).token;
  const form = new FormData();
  form.append('package', new Blob([new Uint8Array(pushed)]), 'package.nupkg');
  const response = await fetch(`${stack.host.url}/F/default/api/v2/package`, {
    method: 'PUT',
    headers: { 'X-NuGet-ApiKey': push },
    body: form,
  });
  expect(response.status).toBe(202);
  const [, second] = await itemsOnceThere('default', 2);
  const pushedUid = second!['symfeed:packageUid'];

  await requestDelete(
    { storage: stack.rt.storage },
    { feed: 'default', packageUid: packageUidFor('default', 'up.nupkg'), reason: 'test' },
  );
  const items = await itemsOnceThere('default', 3);
  expect(items.map((item) => [item['@type'], item['nuget:id']])).toEqual([
    ['nuget:PackageDetails', 'Up.Lib'],
    ['nuget:PackageDetails', 'Pushed.Lib'],
    ['nuget:PackageDelete', 'Up.Lib'],
  ]);

  const base = `${stack.host.url}/F/default/api`;
  const serviceIndex = (await get(`${base}/v3/index.json`)).body;
  const catalogResource = serviceIndex.resources.find((r) => r['@type'] === 'Catalog/3.0.0');
  expect(catalogResource!['@id']).toBe(`${base}/v3/catalog/index.json`);
  const index = (await get(catalogResource!['@id'])).body;
  expect(index.count).toBe(1);
  const page = (await get(index.items[0]!['@id'])).body;
  expect(page.parent).toBe(catalogResource!['@id']);
  const leaves = await Promise.all(page.items.map(async (item) => (await get(item['@id'])).body));
  expect(leaves[0]).toMatchObject({
    '@type': ['PackageDetails', 'catalog:Permalink'],
    id: 'Up.Lib',
    packageHash: sha512(uploaded),
    packageHashAlgorithm: 'SHA512',
    packageSize: uploaded.length,
    'symfeed:state': 'succeeded',
    'symfeed:keyCount': 0,
  });
  expect(leaves[0]!.version).toMatch(/^1\.0\.0-u\d{17}[0-9a-f]{8}$/);
  expect(leaves[1]).toMatchObject({
    id: 'Pushed.Lib',
    packageHash: sha512(pushed),
    'symfeed:packageUid': pushedUid,
  });
  expect(leaves[2]).toMatchObject({
    '@type': ['PackageDelete', 'catalog:Permalink'],
    id: 'Up.Lib',
    version: leaves[0]!.version,
    'symfeed:state': 'deleted',
  });
  // Whoever reads the catalog downloads what it lists, as uploaded, while it is there.
  const content = await fetch(leaves[1]!['symfeed:packageContent'] as string);
  expect(content.status).toBe(200);
  expect(content.headers.get('content-type')).toBe('application/octet-stream');
  expect(content.headers.get('content-length')).toBe(String(pushed.length));
  expect(sha512(Buffer.from(await content.arrayBuffer()))).toBe(leaves[1]!.packageHash);
  expect(leaves[0]!['symfeed:packageContent']).toBe(
    `${base}/v3/catalog/content/${packageUidFor('default', 'up.nupkg')}.nupkg`,
  );
  expect((await get(leaves[0]!['symfeed:packageContent'] as string)).status).toBe(404);
  expect(leaves[2]!['symfeed:packageContent']).toBeUndefined();
  expect((await get(`${base}/v3/catalog/content/${pushedUid.toUpperCase()}.nupkg`)).status).toBe(
    404,
  );
  expect((await get(`${base}/v3/catalog/content/${pushedUid}x.nupkg`)).status).toBe(404);
  expect((await get(`${base}/v3/catalog/content/../${pushedUid}.nupkg`)).status).toBe(404);
  expect((await get(`${base}/v3/catalog/../../v3/index.json`)).status).not.toBe(500);
  expect((await get(`${base}/v3/catalog/page7.json`)).status).toBe(404);
  expect((await get(`${base}/v3/catalog/other.json`)).status).toBe(404);
}, 90_000);

it('answers with the feed access: a private feed wants a token', async () => {
  const pkg = { packageUid: 'a'.repeat(32), id: 'T', name: 't.nupkg', version: '1.0.0' };
  await appendCatalog(
    { container: stack.rt.storage.catalogContainer },
    'team',
    catalogEventOf(
      { ...pkg, uploadedAt: new Date().toISOString(), blobEtag: '"e"', size: 1 },
      'succeeded',
      0,
      'h',
    ),
  );
  const url = `${stack.host.url}/F/team/api/v3/catalog/index.json`;
  expect((await get(url)).status).toBe(401);
  const read = (await createToken(stack.rt.storage.tokensTable, { feed: 'team', scopes: ['read'] }))
    .token;
  expect((await get(url, read)).body.count).toBe(1);
  // The package content a private catalog lists takes the same read token.
  const bytes = await nupkg('Team.Lib', '1.0.0');
  await stack.upload('team.nupkg', bytes, 'team');
  await stack.indexed('team.nupkg', 'team');
  const contentUrl = `${stack.host.url}/F/team/api/v3/catalog/content/${packageUidFor('team', 'team.nupkg')}.nupkg`;
  expect((await get(contentUrl)).status).toBe(401);
  const content = await fetch(contentUrl, {
    headers: { Authorization: `Basic ${Buffer.from(`u:${read}`).toString('base64')}` },
  });
  expect(content.status).toBe(200);
  expect(Buffer.from(await content.arrayBuffer()).equals(bytes)).toBe(true);
  // The fake event above has no package row: nothing to download.
  expect(
    (await get(`${stack.host.url}/F/team/api/v3/catalog/content/${'a'.repeat(32)}.nupkg`, read))
      .status,
  ).toBe(404);
  // A subfeed lists some packages only; the catalog is the whole feed's.
  const admin = (
    await createToken(stack.rt.storage.tokensTable, { feed: 'team', scopes: ['admin'] })
  ).token;
  const subfeed = `${stack.host.url}/F/team,all,partial/api/v3`;
  expect((await get(`${subfeed}/catalog/index.json`, admin)).status).toBe(404);
  const types = (await get(`${subfeed}/index.json`, admin)).body.resources.map((r) => r['@type']);
  expect(types).not.toContain('Catalog/3.0.0');
});

it('rebuilds a feed catalog from its package table once, then adds only what it lacks', async () => {
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'older', visibility: 'public' });
  const kept = await nupkg('Kept', '1.0.0');
  await stack.upload('kept.nupkg', kept, 'older');
  await stack.indexed('kept.nupkg', 'older');
  await stack.upload('gone.nupkg', await nupkg('Gone', '1.0.0'), 'older');
  await stack.indexed('gone.nupkg', 'older');
  await requestDelete(
    { storage: stack.rt.storage },
    { feed: 'older', packageUid: packageUidFor('older', 'gone.nupkg'), reason: 'test' },
  );
  await itemsOnceThere('older', 3);
  // A feed from before the catalog: its package table, and no catalog.
  const container = stack.rt.storage.catalogContainer;
  for await (const blob of container.listBlobsFlat({ prefix: 'older/' })) {
    await container.deleteBlob(blob.name);
  }

  const first = await runCli('catalog', 'rebuild', 'older');
  expect(first.code).toBe(0);
  expect(first.text).toContain('2 appended');
  const items = await catalogItems(container, 'older');
  expect(items.map((item) => [item['@type'], item['nuget:id']])).toEqual([
    ['nuget:PackageDetails', 'Kept'],
    ['nuget:PackageDelete', 'Gone'],
  ]);
  const leaf = (await get(`${stack.host.url}/F/older/api/v3/catalog/${items[0]!['@id']}`)).body;
  expect(leaf.packageHash).toBe(sha512(kept));

  const again = await runCli('catalog', 'rebuild', 'older');
  expect(again.text).toContain('0 appended, 2 already there');
  expect(await catalogItems(container, 'older')).toHaveLength(2);
  expect((await runCli('catalog', 'rebuild')).code).not.toBe(0);
}, 60_000);

it('answers an empty catalog for a feed nothing has happened in yet, so a mirror can start', async () => {
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'quiet', visibility: 'public' });
  const { status, body } = await get(`${stack.host.url}/F/quiet/api/v3/catalog/index.json`);
  expect(status).toBe(200);
  expect(body).toMatchObject({
    '@id': `${stack.host.url}/F/quiet/api/v3/catalog/index.json`,
    '@type': expect.arrayContaining(['CatalogRoot', 'AppendOnlyCatalog']),
    count: 0,
    items: [],
  });
  // The other documents still exist only once written.
  expect((await get(`${stack.host.url}/F/quiet/api/v3/catalog/page0.json`)).status).toBe(404);
});
