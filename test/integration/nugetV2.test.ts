import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import yauzl from 'yauzl';
import { definitions } from '../../functions/all';
import { LocalHost, startLocalHost } from '../../local/host';
import { createToken } from '../../shared/feeds/tokens';
import { uploadVersion } from '../../shared/listings/packageView';
import { packageUidFor } from '../../shared/packages/packageUid';
import { getPackageRow } from '../../shared/packages/packageTable';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

const run = promisify(execFile);
/** More than a page of the feed (100), so that clients and the next link must page. */
const PAGED = 101;
const NUGET_58 = join(__dirname, '../../node_modules/nuget-exe/nuget-5.8.0.exe');

let stack: Stack;
/** The real HTTP functions and the v2 feed; the stack's own host does the indexing. */
let host: LocalHost;
const logs: string[] = [];
let home: string;
let adminToken: string;
let aliceToken: string;
/** Listed version of each upload, by blob name. */
const listed = new Map<string, string>();

async function put(name: string, bytes: Buffer, owner?: string): Promise<void> {
  await stack.rt.storage.packagesContainer
    .getBlockBlobClient(`default/${name}`)
    .uploadData(bytes, owner ? { metadata: { owner } } : {});
  await stack.indexed(name);
  const row = await getPackageRow(
    stack.rt.storage.packagesTable,
    'default',
    packageUidFor('default', name),
  );
  if (!row) throw new Error(`${name} has no package row`);
  listed.set(name, uploadVersion(row.version, row.uploadedAt, row.packageUid));
}

/** A nupkg NuGet 2.x can open: System.IO.Packaging wants content types and the manifest relation. */
function nupkg(id: string, version: string): Promise<Buffer> {
  return makeZip([
    {
      name: '[Content_Types].xml',
      data: '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" /><Default Extension="nuspec" ContentType="application/octet" /><Default Extension="txt" ContentType="application/octet" /></Types>',
    },
    {
      name: '_rels/.rels',
      data: `<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/${id}.nuspec" Id="R1" /></Relationships>`,
    },
    {
      name: `${id}.nuspec`,
      data: `<?xml version="1.0" encoding="utf-8"?><package xmlns="http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd"><metadata><id>${id}</id><version>${version}</version><authors>test</authors><description>${id}</description></metadata></package>`,
    },
    { name: 'lib/readme.txt', data: `${id} ${version}` },
  ]);
}

beforeAll(async () => {
  stack = await startStack();
  host = await startLocalHost({
    definitions: definitions.filter((d) => d.kind === 'http'),
    port: 0,
    container: (name) => stack.rt.storage.blobs.getContainerClient(name),
    queues: stack.rt.storage.queues,
    log: (line) => logs.push(line),
  });
  home = await mkdtemp(join(tmpdir(), 'symfeed-nuget-'));
  const tokens = stack.rt.storage.tokensTable;
  adminToken = (await createToken(tokens, { feed: 'default', scopes: ['admin'] })).token;
  aliceToken = (await createToken(tokens, { feed: 'default', scopes: ['read'], owner: 'alice' }))
    .token;
  await put('Foo.1.0.0.nupkg', await nupkg('Foo', '1.0.0'));
  await put('Foo.2.0.0-beta.nupkg', await nupkg('Foo', '2.0.0-beta'));
  await put('Bar.1.0.0.nupkg', await nupkg('Bar', '1.0.0'), 'alice');
  await put('junk.nupkg', Buffer.from('this is not a zip'));
  // Enough uploads of one id that clients must page (they ask for 30 at a time).
  await Promise.all(
    Array.from({ length: PAGED }, async (_, i) => {
      const name = `Paged.1.0.${i}.nupkg`;
      await stack.rt.storage.packagesContainer
        .getBlockBlobClient(`default/${name}`)
        .uploadData(await nupkg('Paged', `1.0.${i}`));
    }),
  );
  for (let i = 0; i < PAGED; i++)
    await put(`Paged.1.0.${i}.nupkg`, await nupkg('Paged', `1.0.${i}`));
}, 300_000);

afterAll(async () => {
  await host?.close();
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const v2 = (subfeed = 'default') => `${host.url}/F/${subfeed}/api/v2/`;
/** NuGet 5.8 reaches the v2 feed through the v3 index's LegacyGallery once all.ts serves it. */
const v3Registered = definitions.some(
  (d) => d.kind === 'http' && d.options.route === 'F/{feed}/api/v3/index.json',
);

/**
 * Runs a NuGet client with its own HOME. NuGet 2.8 on mono wraps its output to the console's
 * width and loops forever when that is 0 (output not a terminal), so it runs in a terminal.
 */
async function nuget(client: '2.8' | '5.8', args: string[]): Promise<string> {
  const command = client === '2.8' ? ['nuget'] : ['mono', NUGET_58];
  const quoted = [...command, ...args, '-NonInteractive'].map((a) => `'${a}'`).join(' ');
  const { stdout } = await run('script', ['-qec', `stty cols 500; ${quoted}`, '/dev/null'], {
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    timeout: 240_000,
  }).catch((e: { stdout: string; stderr: string; message: string }) => {
    throw new Error(`${quoted} failed: ${e.message}\n${e.stdout}\n${e.stderr}`);
  });
  // The terminal adds escape sequences and carriage returns.
  const escape = new RegExp(`${String.fromCharCode(27)}(\\[[0-9;?]*[A-Za-z]|[=>])`, 'g');
  return stdout.replace(escape, '').replace(/\r/g, '');
}

function listing(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\S+ \d+\.\d+\.\d+\S*$/.test(line))
    .sort();
}

function requests(): string[] {
  const sent = logs
    .filter((line) => line.startsWith('nugetV2 '))
    .map((line) => line.replace(/^.*?GET https?:\/\/[^/]+/, 'GET '));
  logs.length = 0;
  return sent;
}

const expected = (names: string[]) =>
  names.map((name) => `${name.split('.')[0]} ${listed.get(name)}`).sort();
const paged = Array.from({ length: PAGED }, (_, i) => `Paged.1.0.${i}.nupkg`);

describe('NuGet clients', () => {
  it('NuGet 2.8 lists every upload with -AllVersions -Prerelease, paging by $skip', async () => {
    requests();
    const output = await nuget('2.8', ['list', '-Source', v2(), '-AllVersions', '-Prerelease']);
    // 2.0.0-beta.u... is SemVer 2, which NuGet 2.x cannot parse: it is not shown to it.
    // The damaged junk.nupkg is not in the plain feed, which lists succeeded uploads.
    expect(listing(output)).toEqual(expected(['Foo.1.0.0.nupkg', 'Bar.1.0.0.nupkg', ...paged]));
    expect(requests()).toEqual([
      'GET /F/default/api/v2/ -> 200',
      'GET /F/default/api/v2/$metadata -> 200',
      ...[0, 30, 60, 90].map(
        (skip) =>
          `GET /F/default/api/v2/Search()?$orderby=Id&$skip=${skip}&$top=30&searchTerm=%27%27&targetFramework=%27%27&includePrerelease=true -> 200`,
      ),
    ]);
  });

  it('NuGet 5.8 lists SemVer 2 versions too', async () => {
    const source = v3Registered ? `${host.url}/F/default/api/v3/index.json` : v2();
    const output = await nuget('5.8', ['list', '-Source', source, '-AllVersions', '-Prerelease']);
    expect(listing(output)).toEqual(
      expected(['Foo.1.0.0.nupkg', 'Foo.2.0.0-beta.nupkg', 'Bar.1.0.0.nupkg', ...paged]),
    );
    expect(requests()).toEqual([
      'GET /F/default/api/v2/ -> 200',
      'GET /F/default/api/v2/$metadata -> 200',
      ...[0, 30, 60, 90].map(
        (skip) =>
          `GET /F/default/api/v2/Search()?$orderby=Id&searchTerm=%27%27&targetFramework=%27%27&includePrerelease=true&$skip=${skip}&$top=30&semVerLevel=2.0.0 -> 200`,
      ),
    ]);
  });

  it('NuGet 5.8 installs an upload as uploaded from the original subfeed, with credentials', async () => {
    const config = join(home, 'NuGet.Config');
    await writeFile(
      config,
      `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><add key="symfeed" value="${v2('default,all,original')}" /></packageSources>
  <packageSourceCredentials>
    <symfeed><add key="Username" value="admin" /><add key="ClearTextPassword" value="${adminToken}" /></symfeed>
  </packageSourceCredentials>
</configuration>`,
    );
    const out = join(home, 'original');
    requests();
    await nuget('5.8', [
      'install',
      'Foo',
      '-Version',
      listed.get('Foo.1.0.0.nupkg') as string,
      '-Source',
      v2('default,all,original'),
      '-ConfigFile',
      config,
      '-OutputDirectory',
      out,
    ]);
    // The package as uploaded names itself 1.0.0.
    expect(await readFile(join(out, 'Foo.1.0.0/lib/readme.txt'), 'utf8')).toBe('Foo 1.0.0');
    const version = listed.get('Foo.1.0.0.nupkg') as string;
    expect(requests()).toEqual(
      ['', `Packages(Id='Foo',Version='${version}')`, `package/Foo/${version}`].flatMap((path) =>
        [401, 200].map((status) => `GET /F/default,all,original/api/v2/${path} -> ${status}`),
      ),
    );
  });

  it('NuGet 5.8 installs the status document from the plain feed', async () => {
    const out = join(home, 'plain');
    const version = listed.get('Foo.1.0.0.nupkg') as string;
    // No machine caches: the same version came from the original subfeed before.
    await nuget('5.8', [
      'install',
      'Foo',
      '-Version',
      version,
      '-Source',
      v2(),
      '-OutputDirectory',
      out,
      '-NoCache',
    ]);
    const status = JSON.parse(await readFile(join(out, `Foo.${version}/status.json`), 'utf8')) as {
      state: string;
      name: string;
    };
    expect(status).toMatchObject({ state: 'succeeded', name: 'Foo.1.0.0.nupkg' });
  });
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseTagValue: false,
  isArray: (name) => name === 'entry' || name === 'link',
});

interface Listed {
  readonly id: string;
  readonly version: string;
  readonly latest: boolean;
  readonly absoluteLatest: boolean;
}

type Property = string | { '#text'?: string };
const text = (p: Property | undefined) => (typeof p === 'object' ? (p['#text'] ?? '') : (p ?? ''));

function atom(xml: string): { entries: Listed[]; next?: string; count?: string } {
  const feed = (
    parser.parse(xml) as {
      feed: {
        entry?: { properties: Record<string, Property> }[];
        link: { rel: string; href: string }[];
        count?: string;
      };
    }
  ).feed;
  return {
    entries: (feed.entry ?? []).map(({ properties: p }) => ({
      id: text(p.Id),
      version: text(p.Version),
      latest: text(p.IsLatestVersion) === 'true',
      absoluteLatest: text(p.IsAbsoluteLatestVersion) === 'true',
    })),
    ...(feed.count === undefined ? {} : { count: String(feed.count) }),
    ...Object.fromEntries(
      feed.link.filter((link) => link.rel === 'next').map((link) => ['next', link.href]),
    ),
  };
}

async function get(path: string, token?: string) {
  const response = await fetch(path.startsWith('http') ? path : `${v2()}${path}`, {
    headers: token ? { Authorization: `Basic ${btoa(`user:${token}`)}` } : {},
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe('the OData feed', () => {
  it('describes itself: service document and $metadata', async () => {
    const service = await get('');
    expect(service.status).toBe(200);
    expect(service.headers.get('dataserviceversion')).toBe('2.0;');
    expect(service.body).toContain('<collection href="Packages">');
    const metadata = await get('$metadata');
    expect(metadata.status).toBe(200);
    expect(metadata.body).toContain('<FunctionImport Name="Search"');
    expect(metadata.body).toContain('<FunctionImport Name="FindPackagesById"');
  });

  it('finds the uploads of an id, with the latest flags computed per id', async () => {
    const response = await get("FindPackagesById()?id='foo'&semVerLevel=2.0.0");
    expect(response.headers.get('content-type')).toBe(
      'application/atom+xml;type=feed;charset=utf-8',
    );
    // Every upload is pre-release, so none is the latest release.
    const byVersion = (a: Listed, b: Listed) => a.version.localeCompare(b.version);
    expect(atom(response.body).entries.sort(byVersion)).toEqual([
      { id: 'Foo', version: listed.get('Foo.1.0.0.nupkg'), latest: false, absoluteLatest: false },
      {
        id: 'Foo',
        version: listed.get('Foo.2.0.0-beta.nupkg'),
        latest: false,
        absoluteLatest: true,
      },
    ]);
    // Without semVerLevel the SemVer 2 upload is hidden, and the other one is the latest.
    expect(atom((await get("FindPackagesById()?id='Foo'")).body).entries).toEqual([
      { id: 'Foo', version: listed.get('Foo.1.0.0.nupkg'), latest: false, absoluteLatest: true },
    ]);
  });

  it('answers one package by key, and 404 for one it does not have', async () => {
    const version = listed.get('Bar.1.0.0.nupkg') as string;
    const entry = await get(`Packages(Id='bar',Version='${version}')`);
    expect(entry.status).toBe(200);
    expect(entry.body).toContain(`<d:Version>${version}</d:Version>`);
    expect(entry.body).toContain(`src="${v2()}package/Bar/${version}"`);
    expect((await get(`Packages(Id='Bar',Version='9.9.9')`)).status).toBe(404);
    expect((await get('package/Bar/9.9.9')).status).toBe(404);
  });

  it('filters, orders and counts', async () => {
    const search = "Search()?searchTerm='paged'&includePrerelease=true";
    expect((await get(search.replace('Search()', 'Search()/$count'))).body).toBe('101');
    expect(
      (await get(`${search}&$filter=IsAbsoluteLatestVersion`.replace('?', '/$count?'))).body,
    ).toBe('1');
    expect((await get("Search()/$count?searchTerm='paged'")).body).toBe('0');
    const ordered = atom(
      (await get(`Packages()?$filter=tolower(Id) eq 'paged'&$orderby=Version desc&$top=3`)).body,
    ).entries.map((e) => e.version.replace(/-.*/, ''));
    expect(ordered).toEqual(['1.0.100', '1.0.99', '1.0.98']);
    const latest = atom((await get(`Packages()?$filter=IsAbsoluteLatestVersion&$orderby=Id`)).body);
    expect(latest.entries.map((e) => e.id)).toEqual(['Bar', 'Foo', 'Paged']);
  });

  it('pages by the next link', async () => {
    const first = atom(
      (await get('Packages()?$orderby=Id desc&$inlinecount=allpages&semVerLevel=2.0.0')).body,
    );
    expect(first.entries).toHaveLength(100);
    expect(first.count).toBe('104');
    expect(first.next).toBeDefined();
    const second = atom((await get(first.next as string)).body);
    expect(second.entries.map((e) => e.id)).toEqual(['Paged', 'Foo', 'Foo', 'Bar']);
    expect(second.next).toBeUndefined();
  });

  it.each([
    ['Packages()?$expand=Dependencies', 'the query option $expand is not supported'],
    ['Packages()?$filter=Colour eq 1', '$filter: the property "Colour" is not supported'],
    ["Packages()?$filter=Id add 'x'", '$filter: the operator "add" is not supported'],
    ['Packages()?$filter=Id', '$filter must be a boolean expression'],
    ['Packages()?$filter=Id eq 1', '$filter: cannot compare string with number (eq)'],
    ['Packages()?$top=-1', '$top must be a non-negative integer'],
    ['Packages()?$format=json', 'only the Atom $format is supported'],
    ['Search()?searchTerm=foo', "searchTerm must be a quoted string such as 'foo'"],
    ['FindPackagesById()', "FindPackagesById needs id='...'"],
  ])('answers %s with 400 naming what is wrong', async (path, message) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    expect(response.body.replace(/&quot;/g, '"').replace(/&apos;/g, "'")).toContain(message);
  });

  it('answers a $filter nested 1,500 deep with 400 naming the limit', async () => {
    const response = await get(
      `Packages()?$filter=${'('.repeat(1_500)}Id eq 'x'${')'.repeat(1_500)}`,
    );
    expect(response.status).toBe(400);
    expect(response.body).toContain('$filter: expressions nest at most 100 levels deep');
  });
});

async function unzip(bytes: Buffer): Promise<Map<string, string>> {
  const zip = await promisify(yauzl.fromBuffer)(bytes);
  const files = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => files.set(entry.fileName, Buffer.concat(chunks).toString()));
      });
    });
    zip.on('end', () => setTimeout(resolve, 50));
    zip.on('error', reject);
  });
  return files;
}

describe('subfeeds', () => {
  it('asks for credentials where the subfeed needs them', async () => {
    const response = await get(`${v2('default,all,damaged')}Packages()`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="symfeed feed default"/);
    expect((await get(`${v2('default,all,damaged')}Packages()`, aliceToken)).status).toBe(403);
    expect((await get(`${v2('nowhere')}Packages()`)).status).toBe(404);
    expect((await get(`${v2('default,some,thing')}Packages()`)).status).toBe(404);
  });

  it('lists a damaged upload, and serves its status document naming the reason', async () => {
    const damaged = v2('default,all,damaged');
    const version = listed.get('junk.nupkg') as string;
    expect(
      atom((await get(`${damaged}Packages()?semVerLevel=2.0.0`, adminToken)).body).entries,
    ).toEqual([{ id: 'junk', version, latest: false, absoluteLatest: true }]);
    const response = await fetch(`${damaged}package/junk/${version}`, {
      headers: { Authorization: `Basic ${btoa(`user:${adminToken}`)}` },
    });
    expect(response.status).toBe(200);
    const files = await unzip(Buffer.from(await response.arrayBuffer()));
    expect(files.get('junk.nuspec')).toContain(`<version>${version}</version>`);
    const status = JSON.parse(files.get('status.json') ?? '{}') as {
      state: string;
      errors: string[];
    };
    expect(status.state).toBe('damaged');
    expect(JSON.stringify(status.errors)).toMatch(/zip/i);
  });

  it("lists only the caller's own uploads in an own subfeed", async () => {
    const own = atom((await get(`${v2('default,own,succeeded')}Packages()`, aliceToken)).body);
    expect(own.entries.map((e) => `${e.id} ${e.version}`)).toEqual(expected(['Bar.1.0.0.nupkg']));
  });
});
