import { readFile } from 'node:fs/promises';
import { requestDelete } from '../../shared/packages/deletePackage';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { readStatusDocument } from '../../shared/packages/statusDocument';
import { fixtureFiles } from '../support/fixtureKeys';
import { startStack, Stack } from '../support/stack';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * Design.md's precedence told to both sides: a package that takes a key over names the package
 * it took it from, that package names the one serving it now, and both hear again when the one
 * serving it goes.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const uid = (name: string) => packageUidFor('default', name);
const doc = async (name: string) =>
  (await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid(name)))!;
const warningCount = async (name: string) =>
  (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid(name)))?.warningCount;

it('records a key taken by an explicit mapping in both documents, and again when the taker goes', async () => {
  const [elf] = fixtureFiles('elf').filter((file) => file.name === 'hello');
  const key = elf!.keys[0]!;
  const binary = await readFile(elf!.path);
  // Two packages derive the key from the same binary; the first indexed serves it.
  for (const name of ['derived-first.zip', 'derived-second.zip']) {
    await stack.upload(name, await makeZip([{ name: 'bin/hello', data: binary }]));
    await stack.indexed(name);
  }
  expect((await doc('derived-second.zip')).handovers).toEqual([
    expect.objectContaining({
      key,
      kind: 'servedBy',
      other: {
        packageUid: uid('derived-first.zip'),
        blob: 'default/derived-first.zip',
        source: 'derived',
      },
    }),
  ]);

  // A later package maps the key explicitly: it takes it over.
  await stack.upload(
    'explicit.zip',
    await makeZip([
      { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: 'hello.dbg' }]) },
      { name: 'hello.dbg', data: 'explicit' },
    ]),
  );
  const taker = await stack.indexed('explicit.zip');
  const explicit = {
    packageUid: uid('explicit.zip'),
    blob: 'default/explicit.zip',
    source: 'explicit',
  };
  expect(taker.handovers).toEqual([
    expect.objectContaining({
      key,
      source: 'explicit',
      kind: 'tookFrom',
      other: {
        packageUid: uid('derived-first.zip'),
        blob: 'default/derived-first.zip',
        source: 'derived',
      },
    }),
  ]);
  expect(taker.warnings).toContain(
    `key "${key}" was served from package "default/derived-first.zip" until this package took it over: an explicit mapping beats a derived key`,
  );
  for (const name of ['derived-first.zip', 'derived-second.zip']) {
    const loser = await doc(name);
    expect(loser.handovers).toEqual([
      expect.objectContaining({ key, source: 'derived', kind: 'servedBy', other: explicit }),
    ]);
    expect(loser.warnings).toEqual([
      `key "${key}" is also offered by package "default/explicit.zip", which is served instead: an explicit mapping beats a derived key`,
    ]);
    expect(await warningCount(name)).toBe(1);
  }

  // The taker goes: the first derived package serves the key again, and the second names it.
  await requestDelete(
    { storage: stack.rt.storage },
    {
      feed: 'default',
      packageUid: uid('explicit.zip'),
      reason: 'test',
    },
  );
  const deadline = Date.now() + 30_000;
  while ((await doc('explicit.zip')).state !== 'deleted' && Date.now() < deadline) {
    await stack.host.drain();
  }
  expect((await doc('explicit.zip')).state).toBe('deleted');
  expect((await doc('derived-first.zip')).handovers).toEqual([]);
  expect((await doc('derived-first.zip')).warnings).toEqual([]);
  expect(await warningCount('derived-first.zip')).toBe(0);
  expect((await doc('derived-second.zip')).handovers).toEqual([
    expect.objectContaining({
      key,
      kind: 'servedBy',
      other: {
        packageUid: uid('derived-first.zip'),
        blob: 'default/derived-first.zip',
        source: 'derived',
      },
    }),
  ]);
  expect((await doc('derived-second.zip')).warnings).toEqual([
    `key "${key}" is also offered by package "default/derived-first.zip", which is served instead: it was indexed earlier`,
  ]);
});
