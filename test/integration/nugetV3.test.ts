import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { nugetV3 } from '../../functions/nugetV3';
import { LocalHost, startLocalHost } from '../../local/host';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

const NUGET_EXE = path.join(__dirname, '../../node_modules/nuget-exe/nuget-5.8.0.exe');

let stack: Stack;
let host: LocalHost;
let home: string;
let alice: string;
let bob: string;
let admin: string;
let privateRead: string;

beforeAll(async () => {
  if (!existsSync('/usr/bin/mono') || !existsSync(NUGET_EXE)) {
    throw new Error('mono or NuGet.exe 5.8 is missing: install the Debian package mono-complete');
  }
  stack = await startStack();
  await ensureFeed(stack.rt.storage.feedsTable, { name: 'team', visibility: 'private' });
  host = await startLocalHost({
    definitions: nugetV3,
    port: 0,
    container: (name) => stack.rt.storage.blobs.getContainerClient(name),
    queues: stack.rt.storage.queues,
    log: () => undefined,
  });
  const tokens = stack.rt.storage.tokensTable;
  alice = (await createToken(tokens, { feed: 'default', scopes: ['push'], owner: 'alice' })).token;
  bob = (await createToken(tokens, { feed: 'default', scopes: ['push'], owner: 'bob' })).token;
  admin = (await createToken(tokens, { feed: 'default', scopes: ['admin'] })).token;
  privateRead = (await createToken(tokens, { feed: 'team', scopes: ['read'] })).token;
  home = await mkdtemp(path.join(tmpdir(), 'symfeed-nuget-v3-'));

  await put('alice-a.nupkg', await nupkg('Lib.A', '1.0.0'), 'alice');
  await put('alice-a2.nupkg', await nupkg('Lib.A', '2.0.0-beta'), 'alice');
  await put('bob-b.nupkg', await nupkg('Lib.B', '1.0.0'), 'bob');
  await put('bob-broken.nupkg', Buffer.from('not a zip'), 'bob');
  await put('team.nupkg', await nupkg('Team.Lib', '1.0.0'), 'alice', 'team');
});
afterAll(async () => {
  await host?.close();
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function nuspec(id: string, version: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata><id>${id}</id><version>${version}</version><authors>test</authors><description>${id}</description></metadata>
</package>`;
}

function nupkg(id: string, version: string): Promise<Buffer> {
  return makeZip([
    { name: `${id}.nuspec`, data: nuspec(id, version) },
    { name: 'lib/net8.0/readme.txt', data: `${id} ${version}` },
  ]);
}

/** What was uploaded, by blob name: zips carry their build time, so they cannot be rebuilt. */
const uploaded = new Map<string, Buffer>();

async function put(name: string, bytes: Buffer, owner: string, feed = 'default') {
  uploaded.set(name, bytes);
  await stack.rt.storage.packagesContainer
    .getBlockBlobClient(`${feed}/${name}`)
    .uploadData(bytes, { metadata: { owner } });
  await stack.indexed(name, feed);
}

function basic(token: string): Record<string, string> {
  return { Authorization: `Basic ${btoa(`user:${token}`)}` };
}

async function get(pathAndQuery: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${host.url}${pathAndQuery}`, { headers });
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    headers: response.headers,
    bytes,
    json: () => JSON.parse(bytes.toString()) as unknown,
  };
}

type Json = Record<string, unknown>;

function unzip(bytes: Buffer): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const files: Record<string, string> = {};
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            files[entry.fileName] = Buffer.concat(chunks).toString('utf8');
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(files));
      zip.readEntry();
    });
  });
}

describe('service index', () => {
  it('advertises every resource under the (sub)feed it was asked for', async () => {
    const response = await get('/F/default,own,partial/api/v3/index.json', basic(alice));
    expect(response.status).toBe(200);
    const index = response.json() as { version: string; resources: Json[] };
    expect(index.version).toBe('3.0.0');
    const byType = new Map(index.resources.map((r) => [r['@type'], r['@id']]));
    const api = `${host.url}/F/default,own,partial/api`;
    expect(byType.get('PackagePublish/2.0.0')).toBe(`${api}/v2/package`);
    expect(byType.get('SymbolPackagePublish/4.9.0')).toBe(`${api}/v2/symbolpackage`);
    expect(byType.get('PackageBaseAddress/3.0.0')).toBe(`${api}/v3/flatcontainer/`);
    expect(byType.get('LegacyGallery/2.0.0')).toBe(`${api}/v2/`);
    for (const type of [
      'RegistrationsBaseUrl',
      'RegistrationsBaseUrl/3.0.0-beta',
      'RegistrationsBaseUrl/3.0.0-rc',
      'RegistrationsBaseUrl/3.4.0',
      'RegistrationsBaseUrl/3.6.0',
    ]) {
      expect(byType.get(type)).toBe(`${api}/v3/registration/`);
    }
    for (const type of [
      'SearchQueryService',
      'SearchQueryService/3.0.0-beta',
      'SearchQueryService/3.0.0-rc',
      'SearchQueryService/3.5.0',
    ]) {
      expect(byType.get(type)).toBe(`${api}/v3/query`);
    }
  });

  it('asks for credentials on a private feed and refuses an unknown feed', async () => {
    const anonymous = await get('/F/team/api/v3/index.json');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await get('/F/team/api/v3/index.json', basic(privateRead))).status).toBe(200);
    expect((await get('/F/nosuch/api/v3/index.json')).status).toBe(404);
    expect((await get('/F/default,mine,succeeded/api/v3/index.json')).status).toBe(404);
  });
});

describe('subfeeds', () => {
  const query = '/api/v3/query?prerelease=true&semVerLevel=2.0.0';
  const ids = async (feed: string, headers: Record<string, string> = {}) => {
    const response = await get(`/F/${feed}${query}`, headers);
    if (response.status !== 200) return { status: response.status, ids: [] };
    return {
      status: response.status,
      ids: (response.json() as { data: { id: string }[] }).data.map((d) => d.id),
    };
  };

  it('lists every succeeded package on the plain feed, to anyone', async () => {
    expect(await ids('default')).toEqual({ status: 200, ids: ['Lib.A', 'Lib.B'] });
  });

  it("lists the caller's own packages on own subfeeds, to a token of the feed", async () => {
    expect(await ids('default,own,succeeded', basic(alice))).toEqual({
      status: 200,
      ids: ['Lib.A'],
    });
    expect(await ids('default,own,damaged', basic(bob))).toEqual({
      status: 200,
      ids: ['bob-broken'],
    });
    expect(await ids('default,own,succeeded')).toEqual({ status: 401, ids: [] });
    expect((await ids('default,own,succeeded', basic(privateRead))).status).toBe(403);
  });

  it('shows all packages in other states to admins only', async () => {
    expect((await ids('default,all,damaged', basic(alice))).status).toBe(403);
    expect(await ids('default,all,damaged', basic(admin))).toEqual({
      status: 200,
      ids: ['bob-broken'],
    });
  });

  it('downloads the status document from a state subfeed, the upload from original', async () => {
    const versions = (await get('/F/default/api/v3/flatcontainer/lib.a/index.json')).json() as {
      versions: string[];
    };
    const version = versions.versions[0] ?? '';
    const file = `/api/v3/flatcontainer/lib.a/${version}/lib.a.${version}.nupkg`;
    const status = await get(`/F/default${file}`);
    expect(status.status).toBe(200);
    const files = await unzip(status.bytes);
    expect(JSON.parse(files['status.json'] ?? '{}')).toMatchObject({ state: 'succeeded' });
    const original = await get(`/F/default,own,original${file}`, basic(alice));
    expect(original.bytes).toEqual(uploaded.get('alice-a.nupkg'));
  });
});

describe('flat container, registrations and search', () => {
  it('lists versions in order, lower case, and 404s an unknown id', async () => {
    const flat = (await get('/F/default/api/v3/flatcontainer/LIB.A/index.json')).json() as {
      versions: string[];
    };
    expect(flat.versions).toHaveLength(2);
    expect(flat.versions[0]).toMatch(/^1\.0\.0-u\d{17}[0-9a-f]{8}$/);
    expect(flat.versions[1]).toMatch(/^2\.0\.0-beta\.u\d{17}[0-9a-f]{8}$/);
    expect((await get('/F/default/api/v3/flatcontainer/nope/index.json')).status).toBe(404);
  });

  it('serves a registration index, its leaves and content URLs that resolve', async () => {
    const index = (await get('/F/default/api/v3/registration/lib.a/index.json')).json() as {
      count: number;
      items: { items: { catalogEntry: Json; packageContent: string; '@id': string }[] }[];
    };
    expect(index.count).toBe(1);
    const leaves = index.items[0]?.items ?? [];
    expect(leaves.map((leaf) => leaf.catalogEntry.id)).toEqual(['Lib.A', 'Lib.A']);
    for (const leaf of leaves) {
      expect((await fetch(leaf.packageContent)).status).toBe(200);
      expect((await fetch(leaf['@id'])).status).toBe(200);
    }
  });

  it('pages search results with skip and take, and hides pre-releases unless asked', async () => {
    const page = (skip: number, take: number) =>
      get(`/F/default/api/v3/query?prerelease=true&semVerLevel=2.0.0&skip=${skip}&take=${take}`);
    const second = (await page(1, 1)).json() as { totalHits: number; data: { id: string }[] };
    expect(second).toMatchObject({ totalHits: 2, data: [{ id: 'Lib.B' }] });
    const noPrerelease = (await get('/F/default/api/v3/query')).json() as { totalHits: number };
    expect(noPrerelease.totalHits).toBe(0);
    const found = (
      await get('/F/default/api/v3/query?q=packageid:lib.b&prerelease=true')
    ).json() as { data: { id: string }[] };
    expect(found.data.map((d) => d.id)).toEqual(['Lib.B']);
  });
});

describe('NuGet.exe 5.8', () => {
  it('installs a package from the v3 source: the status nupkg of the upload', async () => {
    const versions = (await get('/F/default/api/v3/flatcontainer/lib.b/index.json')).json() as {
      versions: string[];
    };
    const version = versions.versions[0] ?? '';
    const config = path.join(home, 'NuGet.Config');
    await writeFile(
      config,
      '<?xml version="1.0" encoding="utf-8"?>\n<configuration><packageSources><clear /></packageSources></configuration>\n',
    );
    const out = path.join(home, 'out');
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'mono',
        [
          NUGET_EXE,
          'install',
          'Lib.B',
          '-Version',
          version,
          '-Source',
          `${host.url}/F/default/api/v3/index.json`,
          '-OutputDirectory',
          out,
          '-NonInteractive',
          '-ConfigFile',
          config,
        ],
        {
          env: { ...process.env, HOME: home, NUGET_PACKAGES: path.join(home, 'packages') },
          timeout: 240_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, output: `${stdout}\n${stderr}` }),
      );
    });
    expect(result).toMatchObject({ code: 0 });
    const [folder] = await readdir(out);
    expect(folder?.toLowerCase()).toBe(`lib.b.${version}`);
    const status = JSON.parse(await readFile(path.join(out, folder ?? '', 'status.json'), 'utf8'));
    expect(status).toMatchObject({ id: 'Lib.B', state: 'succeeded' });
  });
});
