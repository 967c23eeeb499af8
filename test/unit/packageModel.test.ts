import { listedPackage, Package } from '../../shared/packages/package';
import { statusDocumentOf, withChange } from '../../shared/packages/statusDocument';

const pkg: Package = {
  feed: 'default',
  packageUid: 'a'.repeat(32),
  name: 'Foo.1.0.0.nupkg',
  id: 'Foo',
  version: '1.0.0',
  owner: 'alice',
  uploadedAt: '2026-11-30T10:00:00.000Z',
  blobEtag: '"0x1"',
  size: 123,
  state: 'succeeded',
  stateChangedAt: '2026-11-30T10:00:05.000Z',
  firstIndexedAt: Date.parse('2026-11-30T10:00:01.000Z'),
};

it('lists a package by its uid and blob, in the order listings show', () => {
  expect(JSON.stringify(listedPackage(pkg))).toBe(
    JSON.stringify({
      uid: pkg.packageUid,
      id: 'Foo',
      version: '1.0.0',
      state: 'succeeded',
      blob: 'default/Foo.1.0.0.nupkg',
      size: 123,
      owner: 'alice',
      uploadedAt: '2026-11-30T10:00:00.000Z',
    }),
  );
});

it('lays out a status document as it has always been stored, its history saying when', () => {
  const record = { history: [], keys: [], errors: [], warnings: [] };
  const doc = statusDocumentOf(pkg, { pushedName: 'foo.nupkg' }, record);
  expect(Object.keys(doc)).toEqual([
    'feed',
    'packageUid',
    'name',
    'id',
    'version',
    'owner',
    'uploadedAt',
    'blobEtag',
    'size',
    'firstIndexedAt',
    'pushedName',
    'state',
    'history',
    'keys',
    'errors',
    'warnings',
  ]);
  expect(statusDocumentOf(pkg, {}, record)).not.toHaveProperty('pushedName');
});

it('keeps the last 50 changes of state', () => {
  let history = withChange([], 'indexing');
  for (let i = 0; i < 60; i++) history = withChange(history, i % 2 ? 'indexing' : 'succeeded');
  history = withChange(history, 'partial', 'given up');
  expect(history).toHaveLength(50);
  expect(history[49]).toMatchObject({ state: 'partial', reason: 'given up' });
  expect(history[48]).not.toHaveProperty('reason');
});
