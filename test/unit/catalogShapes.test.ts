import {
  catalogEventOf,
  catalogIndex,
  catalogLeaf,
  catalogPage,
  catalogContentSchema,
  catalogPathSchema,
  indexItemOf,
  pageItem,
  withAbsoluteIds,
} from '../../shared/catalog/catalogShapes';

/**
 * Field names as learn.microsoft.com/nuget/api/catalog-resource gives them: the required fields
 * of the index, its page items, a page, its items, and the two kinds of leaf.
 */
const NUGET = {
  index: ['commitId', 'commitTimeStamp', 'count', 'items'],
  indexItem: ['@id', 'commitId', 'commitTimeStamp', 'count'],
  page: ['commitId', 'commitTimeStamp', 'count', 'items', 'parent'],
  pageItem: ['@id', '@type', 'commitId', 'commitTimeStamp', 'nuget:id', 'nuget:version'],
  leaf: ['@type', 'catalog:commitId', 'catalog:commitTimeStamp', 'id', 'published', 'version'],
  details: ['packageHash', 'packageHashAlgorithm', 'packageSize'],
};

const pkg = {
  packageUid: '0123456789abcdef0123456789abcdef',
  id: 'Lib',
  name: 'lib.nupkg',
  version: '1.2.3',
  uploadedAt: '2026-11-24T11:02:12.345Z',
  blobEtag: '"e"',
  size: 42,
};
const commit = { commitId: 'c1', commitTimeStamp: '2026-11-30T20:55:01.123Z' };
const details = catalogEventOf(pkg, 'succeeded', 7, 'aGFzaA==');
const deleted = catalogEventOf(pkg, 'deleted', 7);

it('gives every field NuGet requires, plus symfeed own', () => {
  const item = pageItem(details, commit);
  const page = catalogPage(0, [item]);
  const index = catalogIndex([indexItemOf(page)]);
  expect(Object.keys(index)).toEqual(expect.arrayContaining(NUGET.index));
  expect(Object.keys(index.items[0]!)).toEqual(expect.arrayContaining(NUGET.indexItem));
  expect(Object.keys(page)).toEqual(expect.arrayContaining(NUGET.page));
  expect(Object.keys(item)).toEqual(expect.arrayContaining(NUGET.pageItem));
  const leaf = catalogLeaf(details, commit);
  expect(Object.keys(leaf)).toEqual(expect.arrayContaining([...NUGET.leaf, ...NUGET.details]));
  expect(leaf).toMatchObject({
    '@type': ['PackageDetails', 'catalog:Permalink'],
    id: 'Lib',
    version: '1.2.3-u20261124110212345' + '01234567',
    published: commit.commitTimeStamp,
    packageHash: 'aGFzaA==',
    packageHashAlgorithm: 'SHA512',
    packageSize: 42,
    'symfeed:packageUid': pkg.packageUid,
    'symfeed:state': 'succeeded',
    'symfeed:keyCount': 7,
    'symfeed:packageContent': `content/${pkg.packageUid}.nupkg`,
  });
  expect(item['@type']).toBe('nuget:PackageDetails');
  expect(item['@id']).toBe(`data/2026.11.30.20.55.01.123/${pkg.packageUid}.json`);
});

it('gives a delete its own types and no hash', () => {
  const leaf = catalogLeaf(deleted, commit);
  expect(Object.keys(leaf)).toEqual(expect.arrayContaining(NUGET.leaf));
  expect(leaf['@type']).toEqual(['PackageDelete', 'catalog:Permalink']);
  expect(leaf).not.toHaveProperty('packageHash');
  expect(leaf).not.toHaveProperty('symfeed:packageContent');
  expect(pageItem(deleted, commit)['@type']).toBe('nuget:PackageDelete');
});

it('makes stored links absolute under the request base', () => {
  const page = catalogPage(3, [pageItem(details, commit)]);
  const served = withAbsoluteIds(page, 'http://h/F/x/api/v3/catalog') as typeof page;
  expect(served['@id']).toBe('http://h/F/x/api/v3/catalog/page3.json');
  expect(served.parent).toBe('http://h/F/x/api/v3/catalog/index.json');
  expect(served.items[0]!['@id']).toMatch(/^http:\/\/h\/F\/x\/api\/v3\/catalog\/data\//);
  const leaf = withAbsoluteIds(catalogLeaf(details, commit), 'http://h/c') as Record<
    string,
    unknown
  >;
  expect(leaf['symfeed:packageContent']).toBe(`http://h/c/content/${pkg.packageUid}.nupkg`);
});

it('serves catalog documents only, never other paths', () => {
  for (const path of ['index.json', 'page12.json', pageItem(details, commit)['@id']]) {
    expect(catalogPathSchema.safeParse(path).success).toBe(true);
  }
  for (const path of ['../index.json', 'data/../../x.json', 'page.json', 'other/index.json', '']) {
    expect(catalogPathSchema.safeParse(path).success).toBe(false);
  }
});

it('names package content by a uid alone, never a path', () => {
  const uid = pkg.packageUid;
  expect(catalogContentSchema.parse(`content/${uid}.nupkg`)).toBe(uid);
  for (const path of [
    `content/${uid.toUpperCase()}.nupkg`,
    `content/${uid}0.nupkg`,
    `content/../${uid}.nupkg`,
    `content/${uid}.json`,
    `${uid}.nupkg`,
  ]) {
    expect(catalogContentSchema.safeParse(path).success).toBe(false);
  }
  expect(catalogPathSchema.safeParse(`content/${uid}.nupkg`).success).toBe(false);
});
