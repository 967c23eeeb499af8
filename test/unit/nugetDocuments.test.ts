import { deleteTarget } from '../../shared/nuget/deleteUpload';
import { PackageView, uploadVersion } from '../../shared/listings/packageView';
import { isPrerelease } from '../../shared/packages/packageIdentity';
import { PackageState } from '../../shared/packages/states';
import {
  INLINE_VERSIONS,
  PAGE_VERSIONS,
  registrationIndex,
  registrationPage,
} from '../../shared/nuget/registrations';
import { byKey, summarise } from '../../shared/listings/listingShapes';
import { selectIds } from '../../shared/listings/readListings';
import { idQueryOf, parseSearchQuery, search, searchJson } from '../../shared/nuget/search';
import { serviceIndex } from '../../shared/nuget/serviceIndex';

const urls = {
  registrationBase: 'http://h/F/default/api/v3/registration/',
  flatContainerBase: 'http://h/F/default/api/v3/flatcontainer/',
};

let uid = 0;
function view(id: string, version: string, at: number, state: PackageState = 'succeeded') {
  const uploadedAt = new Date(Date.UTC(2026, 0, 1) + at).toISOString();
  uid += 1;
  const listed = uploadVersion(version, uploadedAt, uid.toString(16).padStart(32, '0'));
  return {
    uid: uid.toString(16).padStart(32, '0'),
    id,
    version: listed,
    originalVersion: version,
    prerelease: isPrerelease(listed),
    state,
    owner: 'alice',
    uploadedAt,
    size: 1,
    blob: `default/nuget-${uid}.nupkg`,
  } satisfies PackageView;
}

describe('registrations', () => {
  it('keeps small ids in one document, pages inline', () => {
    const views = Array.from({ length: INLINE_VERSIONS }, (_, i) => view('Foo', '1.0.0', i));
    const index = registrationIndex(urls, views, 'FOO');
    expect(index?.count).toBe(INLINE_VERSIONS / PAGE_VERSIONS);
    expect(index?.items.every((page) => page.items?.length === PAGE_VERSIONS)).toBe(true);
    expect(registrationIndex(urls, views, 'bar')).toBeUndefined();
  });

  it('never makes an id of 6,000 uploads one document: pages are out of line and bounded', () => {
    const views = Array.from({ length: 6000 }, (_, i) =>
      view('Foo', `${Math.floor(i / 100)}.0.0`, 6000 - i),
    );
    const index = registrationIndex(urls, views, 'foo');
    expect(index?.count).toBe(Math.ceil(6000 / PAGE_VERSIONS));
    expect(JSON.stringify(index).length).toBeLessThan(40_000);
    let total = 0;
    for (const page of index?.items ?? []) {
      expect(page.items).toBeUndefined();
      expect(page.count).toBeLessThanOrEqual(PAGE_VERSIONS);
      const prefix = `${urls.registrationBase}foo/page/`;
      expect(page['@id'].startsWith(prefix)).toBe(true);
      const full = registrationPage(urls, views, 'foo', page.lower, page.upper);
      expect(full?.items).toHaveLength(page.count);
      expect(full?.['@id']).toBe(page['@id']);
      total += page.count;
    }
    expect(total).toBe(6000);
  });
});

describe('search', () => {
  const views = [
    view('Alpha', '1.0.0', 1),
    view('Alpha', '2.0.0-beta', 2),
    view('Beta.Lib', '1.0.0', 3),
    view('Gamma', '1.0.0+meta', 4),
  ];
  const ids = ['alpha', 'beta.lib', 'gamma']
    .flatMap(
      (key) =>
        summarise(
          key,
          views.filter((v) => v.id.toLowerCase() === key),
        ) ?? [],
    )
    .sort(byKey);
  const run = (text: string) => {
    const query = idQueryOf(parseSearchQuery(new URLSearchParams(text)));
    return search(urls, selectIds(ids, 'succeeded', query), query.seen);
  };

  it('serializes an answer as JSON.stringify does, again from the remembered versions', () => {
    for (const text of ['prerelease=true&semVerLevel=2.0.0', 'prerelease=true', '', 'take=1']) {
      const answer = run(text);
      expect(searchJson(answer).toString('utf8')).toBe(JSON.stringify(answer));
      expect(searchJson(run(text)).toString('utf8')).toBe(JSON.stringify(answer));
    }
  });

  it('groups by id and pages with skip and take', () => {
    const all = run('prerelease=true&semVerLevel=2.0.0');
    expect(all.totalHits).toBe(3);
    expect(all.data.map((d) => d.id)).toEqual(['Alpha', 'Beta.Lib', 'Gamma']);
    expect(all.data[0]?.versions).toHaveLength(2);
    expect(run('prerelease=true&semVerLevel=2.0.0&skip=1&take=1').data.map((d) => d.id)).toEqual([
      'Beta.Lib',
    ]);
  });

  it('hides pre-releases (every upload) without prerelease=true, SemVer 2 below level 2', () => {
    expect(run('').totalHits).toBe(0);
    const semVer1 = run('prerelease=true');
    expect(semVer1.data.map((d) => d.id)).toEqual(['Alpha', 'Beta.Lib']);
    expect(semVer1.data[0]?.versions).toHaveLength(1);
  });

  it('matches terms in ids and packageid: exactly; bad numbers fall back to defaults', () => {
    expect(run('q=LIB&prerelease=true').data.map((d) => d.id)).toEqual(['Beta.Lib']);
    expect(run('q=packageid:alpha&prerelease=true').data.map((d) => d.id)).toEqual(['Alpha']);
    expect(run('q=packageid:alp&prerelease=true').totalHits).toBe(0);
    expect(parseSearchQuery(new URLSearchParams('skip=-1&take=x'))).toMatchObject({
      skip: 0,
      take: 20,
    });
  });
});

describe('deleteTarget', () => {
  it('takes a listed version, or a plain version pushed once', () => {
    const once = view('Once', '1.2.3', 1);
    const twice = [view('Twice', '1.0.0', 2), view('Twice', '1.0.0', 3)];
    const views = [once, ...twice];
    expect(deleteTarget(views, 'once', '1.2.3')).toEqual({ ok: true, view: once });
    expect(deleteTarget(views, 'TWICE', twice[1]?.version ?? '')).toEqual({
      ok: true,
      view: twice[1],
    });
    const ambiguous = deleteTarget(views, 'Twice', '1.0');
    expect(ambiguous).toMatchObject({ ok: false, status: 409 });
    expect(deleteTarget(views, 'Nope', '1.0.0')).toMatchObject({ ok: false, status: 404 });
  });

  it('does not count uploads already on their way out', () => {
    const gone = view('Twice', '1.0.0', 1, 'deletingqueued');
    const live = view('Twice', '1.0.0', 2);
    expect(deleteTarget([gone, live], 'Twice', '1.0.0')).toEqual({ ok: true, view: live });
  });
});

it('service index lists each resource type once', () => {
  const types = serviceIndex('http://h/F/x/api').resources.map((r) => r['@type']);
  expect(new Set(types).size).toBe(types.length);
});
