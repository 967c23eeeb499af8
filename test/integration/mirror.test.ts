import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort, freePorts } from '../../local/ports';
import { parseStorageSettings } from '../../shared/config/settings';
import { catalogItems } from '../../shared/catalog/appendCatalog';
import { getFeed, getMirrorCursor } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { requestDelete } from '../../shared/packages/deletePackage';
import { packageUidFor } from '../../shared/packages/packageUid';
import { createStorageClients, ensureStorage, StorageClients } from '../../shared/storage/clients';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { runCli } from '../support/cli';
import { startStack, Stack } from '../support/stack';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * Two symfeeds on loopback: the source is `npm start` (dist/local/start.js, which npm test
 * builds first) on an Azurite of its own; the mirror is this process's local host on another.
 * The mirror's timer is left out: the tests run the mirror themselves.
 */
const START = path.join(__dirname, '../../dist/local/start.js');

let sourceAzurite: RunningAzurite;
let source: StorageClients;
let sourceHost: ChildProcess;
let sourceUrl: string;
let sourceLog = '';
let mirror: Stack;
let privRead: string;

beforeAll(async () => {
  const [blob, queue, table] = await freePorts(3);
  sourceAzurite = await startAzurite({ ports: { blob: blob!, queue: queue!, table: table! } });
  source = createStorageClients(
    parseStorageSettings({ AzureWebJobsStorage: sourceAzurite.connectionString }),
  );
  await ensureStorage(source);
  await ensureFeed(source.feedsTable, { name: 'pub', visibility: 'public' });
  await ensureFeed(source.feedsTable, { name: 'priv', visibility: 'private' });
  privRead = (await createToken(source.tokensTable, { feed: 'priv', scopes: ['read'] })).token;
  const port = await freePort();
  sourceUrl = `http://127.0.0.1:${port}`;
  sourceHost = spawn(process.execPath, [START], {
    env: {
      PATH: process.env.PATH ?? '',
      AzureWebJobsStorage: sourceAzurite.connectionString,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sourceHost.stdout?.on('data', (data: Buffer) => (sourceLog += data.toString()));
  sourceHost.stderr?.on('data', (data: Buffer) => (sourceLog += data.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${sourceUrl}/health`).then(
      (response) => response.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`the source did not start:\n${sourceLog}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  mirror = await startStack({}, { without: ['mirror'] });
}, 120_000);

afterAll(async () => {
  sourceHost?.kill();
  await mirror?.stop();
  await sourceAzurite?.stop();
});

async function symbolPackage(id: string, key: string, content: string): Promise<Buffer> {
  const nuspec = `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata><id>${id}</id><version>1.0.0</version><authors>t</authors><description>d</description></metadata>
</package>`;
  return makeZip([
    { name: `${id}.nuspec`, data: nuspec },
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: 'f.bin' }]) },
    { name: 'f.bin', data: content },
  ]);
}

/** Uploads straight to the source's storage, and waits for its catalog to list `count` events. */
async function sourceEvents(feed: string, count: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const items = await catalogItems(source.catalogContainer, feed);
    if (items.length >= count) return items;
    if (Date.now() > deadline) throw new Error(`the source catalog lags:\n${sourceLog}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function upload(feed: string, name: string, bytes: Buffer): Promise<void> {
  await source.packagesContainer.getBlockBlobClient(`${feed}/${name}`).uploadData(bytes);
}

function copyName(sourceFeed: string, name: string): string {
  return `mirror-${packageUidFor(sourceFeed, name)}.nupkg`;
}

async function served(feed: string, key: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${mirror.host.url}/F/${feed}/symbols/${key}`);
  return { status: response.status, text: await response.text() };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}:\n${mirror.logs.join('\n')}`);
    await mirror.host.drain();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it('copies uploads, pushes and deletes of a public source without a token, once, with the same bytes and keys', async () => {
  const first = await symbolPackage('First.Lib', 'first/1/first', 'first content');
  await upload('pub', 'first.nupkg', first);
  const push = (await createToken(source.tokensTable, { feed: 'pub', scopes: ['push'] })).token;
  const pushed = await symbolPackage('Pushed.Lib', 'pushed/1/pushed', 'pushed content');
  const form = new FormData();
  form.append('package', new Blob([new Uint8Array(pushed)]), 'package.nupkg');
  const response = await fetch(`${sourceUrl}/F/pub/api/v2/package`, {
    method: 'PUT',
    headers: { 'X-NuGet-ApiKey': push },
    body: form,
  });
  expect(response.status).toBe(202);
  const events = await sourceEvents('pub', 2);

  const indexUrl = `${sourceUrl}/F/pub/api/v3/index.json`;
  const created = await runCli('feed', 'create', 'm1', '--mirror', indexUrl);
  expect(created.code).toBe(0);
  expect(created.text).toContain(`mirror of ${indexUrl}`);
  expect(created.text).not.toContain('with token');

  const run = await runCli('mirror', 'run', 'm1');
  expect(run.code).toBe(0);
  expect(run.text).toContain('copied 2, deleted 0');
  expect(run.text).toContain(`cursor ${events[1]!.commitTimeStamp}`);
  await mirror.indexed(copyName('pub', 'first.nupkg'), 'm1');
  const pushedUid = events[1]!['symfeed:packageUid'];
  await mirror.indexed(`mirror-${pushedUid}.nupkg`, 'm1');
  const copy = await mirror.rt.storage.packagesContainer
    .getBlobClient(`m1/${copyName('pub', 'first.nupkg')}`)
    .downloadToBuffer();
  expect(copy.equals(first)).toBe(true);
  expect(await served('m1', 'first/1/first')).toEqual({ status: 200, text: 'first content' });
  expect(await served('m1', 'pushed/1/pushed')).toEqual({ status: 200, text: 'pushed content' });

  const again = await runCli('mirror', 'run', 'm1');
  expect(again.text).toContain('copied 0, deleted 0, skipped 0');

  await requestDelete(
    { storage: source },
    { feed: 'pub', packageUid: packageUidFor('pub', 'first.nupkg'), reason: 'test' },
  );
  await sourceEvents('pub', 3);
  const deleting = await runCli('mirror', 'run', 'm1');
  expect(deleting.text).toContain('copied 0, deleted 1');
  await waitFor(
    async () => (await served('m1', 'first/1/first')).status === 404,
    'the copy of a package deleted at the source is still served',
  );
  expect(await served('m1', 'pushed/1/pushed')).toEqual({ status: 200, text: 'pushed content' });
}, 180_000);

it('reads a private source with a read token, and fails clearly without one', async () => {
  await upload('priv', 'p.nupkg', await symbolPackage('Priv.Lib', 'priv/1/priv', 'private'));
  await sourceEvents('priv', 1);
  const indexUrl = `${sourceUrl}/F/priv/api/v3/index.json`;
  expect((await runCli('feed', 'create', 'nokey', '--mirror', indexUrl)).code).toBe(0);
  const refused = await runCli('mirror', 'run', 'nokey');
  expect(refused.code).toBe(1);
  expect(refused.text).toContain('answered 401');
  expect(refused.text).toContain('--mirror-token');
  expect(await getMirrorCursor(mirror.rt.storage.feedsTable, 'nokey')).toBe('');

  await runCli(
    'feed',
    'create',
    'withkey',
    '--private',
    '--mirror',
    indexUrl,
    '--mirror-token',
    privRead,
  );
  const run = await runCli('mirror', 'run', 'withkey');
  expect(run.text).toContain('copied 1');
  expect(run.text).not.toContain(privRead);
  expect((await getFeed(mirror.rt.storage.feedsTable, 'withkey'))?.mirror?.token).toBe(privRead);
  expect(mirror.logs.join('\n')).not.toContain(privRead);
  const listed = await runCli('feed', 'list', '--json');
  expect(listed.text).not.toContain(privRead);
  expect(
    JSON.parse(listed.text).find((f: { name: string }) => f.name === 'withkey').mirror,
  ).toEqual({ url: indexUrl, withToken: true });
}, 120_000);

it('resumes a run stopped after its first event without copying twice or skipping', async () => {
  await ensureFeed(source.feedsTable, { name: 'many', visibility: 'public' });
  for (const n of [1, 2, 3]) {
    await upload('many', `n${n}.nupkg`, await symbolPackage(`N${n}`, `n${n}/1/n${n}`, `n${n}`));
    await sourceEvents('many', n);
  }
  const indexUrl = `${sourceUrl}/F/many/api/v3/index.json`;
  await runCli('feed', 'create', 'm3', '--mirror', indexUrl);
  const stopped = await runCli('mirror', 'run', 'm3', '--limit', '1');
  expect(stopped.text).toContain('copied 1, deleted 0, skipped 0');
  expect(stopped.text).toContain('more to do');
  const resumed = await runCli('mirror', 'run', 'm3');
  expect(resumed.text).toContain('copied 2, deleted 0, skipped 0');
  for (const n of [1, 2, 3]) await mirror.indexed(copyName('many', `n${n}.nupkg`), 'm3');
  for (const n of [1, 2, 3]) {
    expect(await served('m3', `n${n}/1/n${n}`)).toEqual({ status: 200, text: `n${n}` });
  }
  // The copies were indexed once each: no second upload changed them.
  const blobs = [];
  for await (const blob of mirror.rt.storage.packagesContainer.listBlobsFlat({ prefix: 'm3/' }))
    blobs.push(blob.name);
  expect(blobs).toHaveLength(3);
}, 180_000);

it('copies a symbol zip that is no NuGet package, listed under its file name', async () => {
  await ensureFeed(source.feedsTable, { name: 'zips', visibility: 'public' });
  const zip = await makeZip([
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: 'z/1/z', blobPath: 'z.bin' }]) },
    { name: 'z.bin', data: 'zipped' },
  ]);
  await upload('zips', 'sub/plain.zip', zip);
  await sourceEvents('zips', 1);
  const indexUrl = `${sourceUrl}/F/zips/api/v3/index.json`;
  await runCli('feed', 'create', 'mz', '--mirror', indexUrl);
  expect((await runCli('mirror', 'run', 'mz')).text).toContain('copied 1');
  await mirror.indexed(copyName('zips', 'sub/plain.zip'), 'mz');
  expect(await served('mz', 'z/1/z')).toEqual({ status: 200, text: 'zipped' });
}, 120_000);

it('crawls a NuGet v2 feed by LastUpdated, resuming without gaps or second copies', async () => {
  await ensureFeed(source.feedsTable, { name: 'old', visibility: 'public' });
  const admin = (await createToken(source.tokensTable, { feed: 'old', scopes: ['admin'] })).token;
  for (const n of [1, 2]) {
    await upload('old', `v${n}.nupkg`, await symbolPackage(`V${n}`, `v${n}/1/v${n}`, `v${n}`));
    await sourceEvents('old', n);
  }
  // The v2 feed of the source's original subfeed: the packages as uploaded.
  const root = `${sourceUrl}/F/old,all,original/api/v2`;
  const created = await runCli(
    'feed',
    'create',
    'm2',
    '--mirror',
    root,
    '--mirror-protocol',
    'v2',
    '--mirror-token',
    admin,
  );
  expect(created.text).toContain(`mirror of v2 ${root} (with token)`);
  const stopped = await runCli('mirror', 'run', 'm2', '--limit', '1');
  expect(stopped.text).toContain('copied 1, deleted 0, skipped 0');
  // The package at the cursor comes again (ge), and is known as copied.
  const resumed = await runCli('mirror', 'run', 'm2');
  expect(resumed.text).toContain('copied 1, deleted 0, skipped 1');
  // v2 gives LastUpdated to the second: the package at the cursor comes again, and so does one
  // updated in the same second before it (CI had v1 and v2 in one second: skipped 2).
  const again = await runCli('mirror', 'run', 'm2');
  expect(again.text).toMatch(/copied 0, deleted 0, skipped [12],/);
  // Only what is at or after the cursor is read: not v1 again.
  await upload('old', 'v3.nupkg', await symbolPackage('V3', 'v3/1/v3', 'v3'));
  await sourceEvents('old', 3);
  const later = await runCli('mirror', 'run', 'm2');
  expect(later.text).toMatch(/copied 1, deleted 0, skipped [12],/);
  const names = [];
  for await (const blob of mirror.rt.storage.packagesContainer.listBlobsFlat({ prefix: 'm2/' }))
    names.push(blob.name.slice('m2/'.length));
  expect(names).toHaveLength(3);
  for (const name of names) await mirror.indexed(name, 'm2');
  for (const n of [1, 2, 3]) {
    expect(await served('m2', `v${n}/1/v${n}`)).toEqual({ status: 200, text: `v${n}` });
  }
}, 120_000);
