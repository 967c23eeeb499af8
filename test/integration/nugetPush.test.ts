import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { nugetV3Definitions } from '../../functions/nugetV3';
import { LocalHost, startLocalHost } from '../../local/host';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { receivePush } from '../../shared/nuget/push';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { StatusDocument } from '../../shared/packages/statusDocument';
import { FIXTURES } from '../support/fixtureKeys';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

const NUGET_EXE = path.join(__dirname, '../../node_modules/nuget-exe/nuget-5.8.0.exe');
/** Small, so that the limit is cheap to exceed; the fixture packages are far below it. */
const MAX_PUSH_BYTES = 1024 * 1024;
const PDB_KEY = 'console64.pdb/62a237fe30c7ef474c4c44205044422e1/console64.pdb';

let stack: Stack;
let host: LocalHost;
let home: string;
let pushToken: string;
const logs: string[] = [];

beforeAll(async () => {
  for (const [tool, file] of [
    ['mono', '/usr/bin/mono'],
    ['NuGet.exe 5.8', NUGET_EXE],
  ] as const) {
    if (!existsSync(file)) {
      throw new Error(
        `${tool} is missing (${file}): install the Debian package mono-complete and run npm ci`,
      );
    }
  }
  stack = await startStack();
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'other', visibility: 'public' });
  host = await startLocalHost({
    definitions: nugetV3Definitions(MAX_PUSH_BYTES),
    port: 0,
    container: (name) => stack.rt.storage.blobs.getContainerClient(name),
    queues: stack.rt.storage.queues,
    log: (line) => logs.push(line),
  });
  pushToken = await token(['push', 'delete', 'read'], 'alice');
  home = await mkdtemp(path.join(tmpdir(), 'symfeed-nuget-push-'));
  await writeFile(
    path.join(home, 'NuGet.Config'),
    '<?xml version="1.0" encoding="utf-8"?>\n<configuration><packageSources><clear /></packageSources></configuration>\n',
  );
});
afterAll(async () => {
  await host?.close();
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

async function token(
  scopes: ('read' | 'push' | 'delete' | 'admin')[],
  owner?: string,
  feed = 'default',
): Promise<string> {
  const created = await createToken(stack.rt.storage.tokensTable, {
    feed,
    scopes,
    ...(owner ? { owner } : {}),
  });
  return created.token;
}

const source = () => `${host.url}/F/default/api/v3/index.json`;

/** NuGet.exe on mono, with its home, caches and configuration in a temporary folder. */
function nuget(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'mono',
      [NUGET_EXE, ...args, '-NonInteractive', '-ConfigFile', path.join(home, 'NuGet.Config')],
      {
        env: {
          ...process.env,
          HOME: home,
          XDG_CONFIG_HOME: path.join(home, '.config'),
          NUGET_PACKAGES: path.join(home, 'packages'),
          NUGET_HTTP_CACHE_PATH: path.join(home, 'http-cache'),
        },
        timeout: 240_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

function nuspec(id: string, version: string, extra = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata><id>${id}</id><version>${version}</version><authors>test</authors><description>${id}</description>${extra}</metadata>
</package>`;
}

async function nupkg(id: string, version: string): Promise<Buffer> {
  return makeZip([
    { name: `${id}.nuspec`, data: nuspec(id, version) },
    { name: 'lib/net8.0/readme.txt', data: `${id} ${version}` },
  ]);
}

async function snupkg(id: string, version: string): Promise<Buffer> {
  return makeZip([
    {
      name: `${id}.nuspec`,
      data: nuspec(
        id,
        version,
        '<packageTypes><packageType name="SymbolsPackage" /></packageTypes>',
      ),
    },
    {
      name: 'lib/net8.0/console64.pdb',
      data: await readFile(path.join(FIXTURES, 'pe/console64.pdb')),
    },
  ]);
}

/** Writes a package into a folder of its own, so NuGet.exe pushes only what it is given. */
async function packageFile(name: string, bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(home, 'pkg-'));
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

/** Pushed blobs; with `uncommitted`, also those that only have staged blocks. */
async function committedBlobs(uncommitted = false): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of stack.rt.storage.packagesContainer.listBlobsFlat({
    prefix: 'default/nuget-',
    includeUncommitedBlobs: uncommitted,
  })) {
    names.push(blob.name);
  }
  return names;
}

/** The blobs a step committed, indexed. */
async function indexedSince(before: readonly string[]): Promise<StatusDocument[]> {
  const added = (await committedBlobs()).filter((name) => !before.includes(name));
  return Promise.all(added.map((name) => stack.indexed(name.slice('default/'.length))));
}

function form(bytes: Buffer, filename = 'package.nupkg'): FormData {
  const body = new FormData();
  body.append('package', new Blob([new Uint8Array(bytes)]), filename);
  return body;
}

async function push(
  bytes: Buffer,
  apiKey: string | null = pushToken,
  url = `${host.url}/F/default/api/v2/package/`,
) {
  const response = await fetch(url, {
    method: 'PUT',
    headers: apiKey === null ? {} : { 'X-NuGet-ApiKey': apiKey },
    body: form(bytes),
  });
  return {
    status: response.status,
    warning: response.headers.get('x-nuget-warning'),
    text: await response.text(),
  };
}

describe('NuGet.exe 5.8 against the v3 service index', () => {
  it('pushes a .nupkg and a .snupkg, serves the PDB by its key, and deletes both', async () => {
    let before = await committedBlobs();
    const pushed = await nuget([
      'push',
      await packageFile('Foo.1.0.0.nupkg', await nupkg('Foo', '1.0.0')),
      '-Source',
      source(),
      '-ApiKey',
      pushToken,
    ]);
    expect(pushed).toMatchObject({ code: 0 });
    const [nupkgDoc, ...extra] = await indexedSince(before);
    expect(extra).toEqual([]);
    expect(nupkgDoc).toMatchObject({ state: 'succeeded', id: 'Foo', version: '1.0.0' });
    expect(nupkgDoc?.name).toMatch(/^nuget-[0-9a-f-]+\.nupkg$/);

    before = await committedBlobs();
    const symbols = await nuget([
      'push',
      await packageFile('Foo.1.0.0.snupkg', await snupkg('Foo', '1.0.0')),
      '-Source',
      source(),
      '-ApiKey',
      pushToken,
    ]);
    expect(symbols).toMatchObject({ code: 0 });
    const [snupkgDoc] = await indexedSince(before);
    expect(snupkgDoc).toMatchObject({ state: 'succeeded', id: 'Foo', version: '1.0.0' });
    expect(snupkgDoc?.name).toMatch(/\.snupkg$/);
    expect(snupkgDoc?.keys.map((record) => record.key)).toContain(PDB_KEY);

    const pdb = await fetch(`${stack.symbols}/${PDB_KEY}`);
    expect(pdb.status).toBe(200);
    expect(Buffer.from(await pdb.arrayBuffer())).toEqual(
      await readFile(path.join(FIXTURES, 'pe/console64.pdb')),
    );
    const row = await getPackageRow(
      stack.rt.storage.packagesTable,
      'default',
      packageUidFor('default', snupkgDoc?.name ?? ''),
    );
    expect(row?.owner).toBe('alice');

    // Two uploads of Foo 1.0.0: each lists under its own version, and the plain version is
    // ambiguous, so the client is told the listed versions to choose from.
    const flat = (await (
      await fetch(`${host.url}/F/default/api/v3/flatcontainer/foo/index.json`)
    ).json()) as { versions: string[] };
    expect(flat.versions).toHaveLength(2);
    for (const version of flat.versions) expect(version).toMatch(/^1\.0\.0-u\d{17}[0-9a-f]{8}$/);
    const ambiguous = await nuget([
      'delete',
      'Foo',
      '1.0.0',
      '-Source',
      source(),
      '-ApiKey',
      pushToken,
    ]);
    expect(ambiguous.code).not.toBe(0);
    expect(ambiguous.output).toContain('was pushed 2 times');

    for (const version of flat.versions) {
      const deleted = await nuget([
        'delete',
        'Foo',
        version,
        '-Source',
        source(),
        '-ApiKey',
        pushToken,
      ]);
      expect(deleted).toMatchObject({ code: 0 });
    }
    await stack.host.drain();
    await stack.host.drain();
    expect((await fetch(`${stack.symbols}/${PDB_KEY}`)).status).toBe(404);
    for (const doc of [nupkgDoc, snupkgDoc]) {
      const gone = await getPackageRow(
        stack.rt.storage.packagesTable,
        'default',
        packageUidFor('default', doc?.name ?? ''),
      );
      expect(gone?.state).toBe('deleted');
    }
  });

  it('prints why a push is refused', async () => {
    const noNuspec = await nuget([
      'push',
      await packageFile('Bare.1.0.0.nupkg', await makeZip([{ name: 'lib/a.txt', data: 'a' }])),
      '-Source',
      source(),
      '-ApiKey',
      pushToken,
    ]);
    expect(noNuspec.code).not.toBe(0);
    expect(noNuspec.output).toContain('no .nuspec at its root');

    const readOnly = await nuget([
      'push',
      await packageFile('Foo.2.0.0.nupkg', await nupkg('Foo', '2.0.0')),
      '-Source',
      source(),
      '-ApiKey',
      await token(['read']),
    ]);
    expect(readOnly.code).not.toBe(0);
    expect(readOnly.output).toContain('lacks the "push" scope');
  });
});

describe('push', () => {
  it('accepts what is not a zip, which lands in the damaged subfeed', async () => {
    const before = await committedBlobs();
    const response = await push(Buffer.from('this is not a zip'));
    expect(response.status).toBe(202);
    const [doc] = await indexedSince(before);
    expect(doc?.state).toBe('damaged');
    const damaged = (await (
      await fetch(
        `${host.url}/F/default,own,damaged/api/v3/query?prerelease=true&semVerLevel=2.0.0`,
        { headers: { Authorization: `Basic ${btoa(`alice:${pushToken}`)}` } },
      )
    ).json()) as { data: { id: string }[] };
    expect(damaged.data.map((entry) => entry.id)).toContain(doc?.id);
  });

  it.each([
    ['without a .nuspec', [{ name: 'lib/a.txt', data: 'a' }], 'no .nuspec at its root'],
    [
      'with a .nuspec lacking a version',
      [{ name: 'Foo.nuspec', data: '<package><metadata><id>Foo</id></metadata></package>' }],
      'not a .nuspec stating an id and a version',
    ],
    [
      'with an invalid id',
      [{ name: 'Foo.nuspec', data: nuspec('Foo Bar', '1.0.0') }],
      'not a valid NuGet id',
    ],
    [
      'with an invalid version',
      [{ name: 'Foo.nuspec', data: nuspec('Foo', 'one') }],
      'not a valid NuGet version',
    ],
  ])('refuses a zip %s with 400 and stores nothing', async (_what, entries, why) => {
    const before = await committedBlobs();
    const response = await push(await makeZip(entries));
    expect(response.status).toBe(400);
    expect(response.warning).toContain(why);
    expect(await committedBlobs()).toEqual(before);
  });

  it('answers 401 without or with an unknown API key, 403 for another feed or scope', async () => {
    const bytes = await nupkg('Foo', '3.0.0');
    const missing = await push(bytes, null);
    expect(missing.status).toBe(401);
    expect(missing.warning).toContain('as the API key');
    expect((await push(bytes, 'sf_' + 'x'.repeat(43))).status).toBe(401);
    expect((await push(bytes, 'not-a-token')).status).toBe(401);
    expect((await push(bytes, await token(['push'], undefined, 'other'))).status).toBe(403);
    const readOnly = await push(bytes, await token(['read', 'delete']));
    expect(readOnly.status).toBe(403);
    expect(readOnly.warning).toContain('lacks the "push" scope');
  });

  it('refuses a body over the limit with 413, by its length or while it streams', async () => {
    const before = await committedBlobs();
    const big = Buffer.alloc(MAX_PUSH_BYTES + 1, 1);
    expect((await push(big)).status).toBe(413);
    // Without a Content-Length the limit is found while the body streams in.
    const streamed = await new Promise<number>((resolve, reject) => {
      const boundary = 'symfeedboundary';
      const req = httpRequest(
        `${host.url}/F/default/api/v2/package`,
        {
          method: 'PUT',
          headers: {
            'X-NuGet-ApiKey': pushToken,
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Transfer-Encoding': 'chunked',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n`,
      );
      req.write(big);
      req.end(`\r\n--${boundary}--\r\n`);
    });
    expect(streamed).toBe(413);
    expect(await committedBlobs()).toEqual(before);
  });

  it('stores nothing of a push cut off halfway', async () => {
    const before = await committedBlobs();
    const staged = await committedBlobs(true);
    const bytes = await nupkg('Cut', '1.0.0');
    const boundary = 'symfeedboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n`;
    // The body ends before its closing boundary: the package may be incomplete.
    const response = await fetch(`${host.url}/F/default/api/v2/package`, {
      method: 'PUT',
      headers: {
        'X-NuGet-ApiKey': pushToken,
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
      },
      body: Buffer.concat([Buffer.from(head), bytes.subarray(0, bytes.length >> 1)]),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-nuget-warning')).toContain('did not arrive whole');
    await stack.host.drain();
    expect(await committedBlobs()).toEqual(before);
    const uncommitted = (await committedBlobs(true)).filter((name) => !staged.includes(name));
    // At most the staged blocks of this push exist, invisible to readers and to the indexer.
    expect(uncommitted.length).toBeLessThanOrEqual(1);
  });
});

describe('delete', () => {
  it('needs the delete scope and answers 404 for an unknown version', async () => {
    const url = `${host.url}/F/default/api/v2/package/Nope/1.0.0`;
    const noScope = await fetch(url, {
      method: 'DELETE',
      headers: { 'X-NuGet-ApiKey': await token(['push', 'read']) },
    });
    expect(noScope.status).toBe(403);
    const unknown = await fetch(url, {
      method: 'DELETE',
      headers: { 'X-NuGet-ApiKey': pushToken },
    });
    expect(unknown.status).toBe(404);
  });

  it('takes the plain version of a package pushed once', async () => {
    const before = await committedBlobs();
    expect((await push(await nupkg('Once', '1.2.3'))).status).toBe(202);
    const [doc] = await indexedSince(before);
    const response = await fetch(`${host.url}/F/default/api/v2/package/once/1.2.3`, {
      method: 'DELETE',
      headers: { 'X-NuGet-ApiKey': pushToken },
    });
    expect(response.status).toBe(202);
    await stack.host.drain();
    const row = await getPackageRow(
      stack.rt.storage.packagesTable,
      'default',
      packageUidFor('default', doc?.name ?? ''),
    );
    expect(row?.state).toBe('deleted');
  });
});

describe('receivePush', () => {
  const big = () => randomBytes(5 * 1024 * 1024);
  const limits = { maxEntries: 1000, maxEntryBytes: 2 ** 30, maxCompressionRatio: 1000 };
  const multipart = (bytes: Buffer) => {
    const boundary = 'symfeedboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n`;
    return {
      contentType: `multipart/form-data; boundary=${boundary}`,
      body: Readable.from([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)], {
        objectMode: false,
      }),
    };
  };
  const receive = (bytes: Buffer) =>
    receivePush(stack.rt.storage, {
      feed: 'default',
      owner: 'carol',
      symbols: false,
      maxBytes: 64 * 1024 * 1024,
      zipLimits: limits,
      ...multipart(bytes),
    });

  it('stores a package of several blocks whole, judged by its first and last bytes', async () => {
    const bytes = await makeZip([
      { name: 'Big.nuspec', data: nuspec('Big', '1.0.0') },
      { name: 'lib/a.bin', data: big(), compress: false },
      { name: 'lib/b.bin', data: big(), compress: false },
    ]);
    const outcome = await receive(bytes);
    expect(outcome).toMatchObject({ ok: true, id: 'Big', version: '1.0.0' });
    const blob = stack.rt.storage.packagesContainer.getBlobClient(outcome.ok ? outcome.blob : '');
    // equals, not toEqual: jest's deep equality takes minutes over megabytes.
    expect((await blob.downloadToBuffer()).equals(bytes)).toBe(true);
    // What the indexer lists a package by even if it finds it damaged (damagedPush.test.ts),
    // and the catalog's hash of the blocks as they streamed by, so the indexer need not read them.
    expect((await blob.getProperties()).metadata).toEqual({
      owner: 'carol',
      pushedname: 'package.nupkg',
      id: 'Big',
      version: '1.0.0',
      sha512: createHash('sha512').update(bytes).digest('base64'),
    });
  });

  it('refuses a large zip without a .nuspec; leaves one it cannot judge to the indexer', async () => {
    const bare = await makeZip([{ name: 'lib/a.bin', data: big(), compress: false }]);
    expect(await receive(bare)).toMatchObject({ ok: false, status: 400 });
    const middle = await makeZip([
      { name: 'lib/a.bin', data: big(), compress: false },
      { name: 'Mid.nuspec', data: nuspec('Mid', '1.0.0') },
      { name: 'lib/b.bin', data: big(), compress: false },
    ]);
    const outcome = await receive(middle);
    expect(outcome.ok).toBe(true);
    const doc = await stack.indexed((outcome.ok ? outcome.blob : '').slice('default/'.length));
    expect(doc).toMatchObject({ state: 'succeeded', id: 'Mid', owner: 'carol' });
  });
});
