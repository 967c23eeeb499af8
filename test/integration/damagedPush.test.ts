import { createToken } from '../../shared/feeds/tokens';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { StatusDocument } from '../../shared/packages/statusDocument';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

/** A damaged push is recognisable: by the name it was pushed under and what its .nuspec says. */
let stack: Stack;
let pushToken: string;

beforeAll(async () => {
  stack = await startStack();
  pushToken = (
    await createToken(stack.rt.storage.tokensTable, {
      feed: 'default',
      scopes: ['push', 'read'],
      owner: 'alice',
    })
  ).token;
});
afterAll(() => stack?.stop());

const nuspec = (id: string, version: string) =>
  `<?xml version="1.0"?><package><metadata><id>${id}</id><version>${version}</version></metadata></package>`;

/** Pushes as NuGet clients do, with the file part named `filename`; returns the indexed package. */
async function push(bytes: Buffer, filename: string): Promise<StatusDocument> {
  const before = await pushedBlobs();
  const body = new FormData();
  body.append('package', new Blob([new Uint8Array(bytes)]), filename);
  const response = await fetch(`${stack.host.url}/F/default/api/v2/package/`, {
    method: 'PUT',
    headers: { 'X-NuGet-ApiKey': pushToken },
    body,
  });
  expect(response.status).toBe(202);
  const [blob] = (await pushedBlobs()).filter((name) => !before.includes(name));
  return stack.indexed((blob ?? '').slice('default/'.length));
}

async function pushedBlobs(): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of stack.rt.storage.packagesContainer.listBlobsFlat({
    prefix: 'default/nuget-',
  })) {
    names.push(blob.name);
  }
  return names;
}

async function listed(doc: StatusDocument) {
  const row = await getPackageRow(
    stack.rt.storage.packagesTable,
    'default',
    packageUidFor('default', doc.name),
  );
  return { id: row?.id, version: row?.version, state: row?.state };
}

it('lists a pushed file that is no zip under the id and version its file name gives', async () => {
  const doc = await push(Buffer.from('not a zip at all'), 'My.Lib.1.2.3-beta.nupkg');
  expect(doc).toMatchObject({ state: 'damaged', pushedName: 'My.Lib.1.2.3-beta.nupkg' });
  expect(await listed(doc)).toEqual({ id: 'My.Lib', version: '1.2.3-beta', state: 'damaged' });
  // The indexer's log line says why, not only the status document.
  const line = stack.logs.find((entry) => entry.includes(doc.name) && entry.includes('damaged'));
  expect(line).toContain('My.Lib 1.2.3-beta, pushed as "My.Lib.1.2.3-beta.nupkg"');
  expect(line).toMatch(/damaged, 0 keys: .*zip/);
});

it('lists a package damaged past its .nuspec under the id and version the .nuspec states', async () => {
  // NuGet clients name every pushed file "package.nupkg", which says nothing.
  const bytes = await makeZip([
    { name: 'Broken.Index.nuspec', data: nuspec('Broken.Index', '2.0.0') },
    { name: 'symbol_index.json', data: '{ not json' },
  ]);
  const doc = await push(bytes, 'package.nupkg');
  expect(doc).toMatchObject({ state: 'damaged', pushedName: 'package.nupkg' });
  expect(await listed(doc)).toEqual({ id: 'Broken.Index', version: '2.0.0', state: 'damaged' });
  const line = stack.logs.find((entry) => entry.includes(doc.name) && entry.includes('damaged'));
  expect(line).toMatch(
    /Broken.Index 2.0.0, .*: damaged, 0 keys: symbol_index.json is not valid JSON/,
  );
});
