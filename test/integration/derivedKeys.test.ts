import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  FIXTURES,
  FixtureFile,
  fixtureFiles,
  requireSharedFixtures,
  SHARED_PORTABLE_PDB,
} from '../support/fixtureKeys';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * A package without symbol_index.json holding every fixture binary, stored and deflated entries
 * alike, serves each file under the keys the independent tools imply.
 */
let stack: Stack;

const perfmap: FixtureFile = {
  name: 'System.Private.CoreLib.ni.r2rmap',
  path: path.join(FIXTURES, 'perfmap/System.Private.CoreLib.ni.r2rmap'),
  // The example of SSQP_Key_Conventions.md, whose signature the hand-written fixture carries.
  keys: [
    'system.private.corelib.ni.r2rmap/r2rmap-v1-f5fddf60efb0bee79ef02a19c3decba9/system.private.corelib.ni.r2rmap',
  ],
};
const sourcePath = path.join(FIXTURES, 'sources/src/Greeter/Hello.cs');
const sourceSha1 = execFileSync('sha1sum', [sourcePath]).toString().slice(0, 40);

function allFixtures(): { entry: string; file: FixtureFile }[] {
  requireSharedFixtures();
  const groups: [string, FixtureFile[]][] = [
    ['pe', fixtureFiles('pe')],
    ['elf', fixtureFiles('elf')],
    ['macho', fixtureFiles('macho')],
    ['portable', fixtureFiles('portable-pdb-oracle', SHARED_PORTABLE_PDB)],
    ['perfmap', [perfmap]],
  ];
  return groups.flatMap(([folder, files]) =>
    files.map((file) => ({ entry: `${folder}/${file.name}`, file })),
  );
}

const fixtures = allFixtures();

/** Which entry serves each key: when two files give one key, the first by entry name. */
const expected = new Map<string, string>();
for (const { file } of [...fixtures].sort((a, b) => (a.entry < b.entry ? -1 : 1))) {
  for (const key of file.keys) if (!expected.has(key)) expected.set(key, file.path);
}
expected.set(`hello.cs/sha1-${sourceSha1}/hello.cs`, sourcePath);

beforeAll(async () => {
  stack = await startStack();
  const zip = await makeZip([
    ...fixtures.map(({ entry, file }, i) => ({
      name: entry,
      data: readFileSync(file.path),
      compress: i % 2 === 0,
    })),
    { name: 'src/Greeter/Hello.cs', data: readFileSync(sourcePath) },
    // NuGet's own parts are never examined.
    { name: '[Content_Types].xml', data: '<Types/>' },
    { name: 'fixtures.nuspec', data: '<package/>' },
  ]);
  await stack.upload('all-formats.nupkg', zip);
});

afterAll(() => stack?.stop());

it('indexes every derived key of every format', async () => {
  const doc = await stack.indexed('all-formats.nupkg');
  expect(doc.state).toBe('succeeded');
  expect(doc.keys.map((k) => k.key).sort()).toEqual([...expected.keys()].sort());
  expect(doc.keys.every((k) => k.source === 'derived' && k.convention)).toBe(true);
});

it.each([...expected.entries()])(
  'serves %s byte for byte, in any letter case',
  async (key, file) => {
    const bytes = readFileSync(file);
    for (const variant of [key, key.toUpperCase()]) {
      const response = await fetch(`${stack.symbols}/${variant}`);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
    }
  },
);

describe('precedence', () => {
  const elf = fixtureFiles('elf').find((file) => file.name === 'hello')!;
  const elfKey = elf.keys[0]!;

  it('serves an explicit key of a later package over a derived key of an earlier one, and says so', async () => {
    // all-formats.nupkg (indexed first) derives elfKey; this package maps it explicitly.
    await stack.upload(
      'explicit-later.zip',
      await makeZip([
        {
          name: 'symbol_index.json',
          data: symbolIndex([{ clientKey: elfKey, blobPath: 'override.bin' }]),
        },
        { name: 'override.bin', data: 'the explicit mapping' },
      ]),
    );
    const doc = await stack.indexed('explicit-later.zip');
    // It names the package it took the key from (see handovers.test.ts).
    expect(doc.warnings).toEqual([
      `key "${elfKey}" was served from package "default/all-formats.nupkg" until this package took it over: an explicit mapping beats a derived key`,
    ]);
    expect(await (await fetch(`${stack.symbols}/${elfKey}`)).text()).toBe('the explicit mapping');

    // A third package deriving the same key loses to the explicit mapping and is told why.
    await stack.upload(
      'derived-later.zip',
      await makeZip([{ name: 'copy/hello', data: readFileSync(elf.path) }]),
    );
    const later = await stack.indexed('derived-later.zip');
    expect(later.warnings).toContain(
      `key "${elfKey}" is also offered by package "default/explicit-later.zip", which is served instead: an explicit mapping beats a derived key`,
    );
  });

  it('serves the earliest indexed package among derived candidates', async () => {
    const macho = fixtureFiles('macho').find((file) => file.name === 'hello')!;
    const key = macho.keys[0]!;
    await stack.upload(
      'macho-again.zip',
      await makeZip([{ name: 'again/hello', data: readFileSync(macho.path) }]),
    );
    const doc = await stack.indexed('macho-again.zip');
    expect(doc.warnings).toContain(
      `key "${key}" is also offered by package "default/all-formats.nupkg", which is served instead: it was indexed earlier`,
    );
    const response = await fetch(`${stack.symbols}/${key}`);
    expect(response.headers.get('x-symfeed-package')).toBe('default%2Fall-formats.nupkg');
  });
});

it('serves a runtime companion under the runtime-derived CLR key', async () => {
  const [runtime, companion] = fixtureFiles('elf').filter((file) => file.keys.length > 0);
  const elf = JSON.parse(
    readFileSync(path.join(FIXTURES, 'elf/expected-keys.json'), 'utf8'),
  ) as Record<string, { identity?: string[] }>;
  const id = elf[runtime!.name]!.identity![0]!;
  await stack.upload(
    'runtime.zip',
    await makeZip([
      { name: 'runtimes/linux-x64/native/libcoreclr.so', data: readFileSync(runtime!.path) },
      { name: 'runtimes/linux-x64/native/libmscordaccore.so', data: readFileSync(companion!.path) },
    ]),
  );
  await stack.indexed('runtime.zip');
  const response = await fetch(
    `${stack.symbols}/libmscordaccore.so/elf-buildid-coreclr-${id}/libmscordaccore.so`,
  );
  expect(response.status).toBe(200);
  expect(Buffer.from(await response.arrayBuffer())).toEqual(readFileSync(companion!.path));
});
