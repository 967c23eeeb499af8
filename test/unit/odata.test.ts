import { PackageView } from '../../shared/listings/packageView';
import { ODataError } from '../../shared/nuget/odata/errors';
import { evaluate, parseFilter } from '../../shared/nuget/odata/expression';
import { feedPackages, findFeedPackage } from '../../shared/nuget/odata/packages';
import { parseQueryOptions, runQuery } from '../../shared/nuget/odata/query';
import {
  compareVersions,
  isNuGetVersion,
  isSemVer2,
  normalizeVersion,
} from '../../shared/nuget/nugetVersion';

function view(id: string, version: string, uploadedAt = '2026-01-01T00:00:00.000Z'): PackageView {
  return {
    uid: `${id}-${version}`,
    id,
    version,
    originalVersion: version,
    prerelease: version.includes('-'),
    state: 'succeeded',
    owner: '',
    uploadedAt,
    size: 1,
    blob: `default/${id}.${version}.nupkg`,
  };
}

const v = (text: string) => {
  if (!isNuGetVersion(text)) throw new Error(`${text} is not a version`);
  return text;
};

describe('versions', () => {
  it('orders by SemVer 2 precedence, numbers numerically and labels case-insensitively', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-Alpha.beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0',
      '1.0.0.1',
      '1.2',
      '1.10.0',
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort((a, b) => compareVersions(v(a), v(b)))).toEqual(ordered);
    expect(compareVersions(v('1.0'), v('1.0.0+build'))).toBe(0);
  });

  it('normalizes as NuGet does and tells SemVer 2 versions apart', () => {
    expect(normalizeVersion(v('01.2'))).toBe('1.2.0');
    expect(normalizeVersion(v('1.2.3.0-rc+meta'))).toBe('1.2.3-rc');
    expect(normalizeVersion(v('1.2.3.4'))).toBe('1.2.3.4');
    expect(isSemVer2(v('1.0.0-u20260101000000000'))).toBe(false);
    expect(isSemVer2(v('1.0.0-beta.u20260101000000000'))).toBe(true);
    expect(isSemVer2(v('1.0.0+meta'))).toBe(true);
    for (const bad of ['', 'abc', '1.2.3.4.5', '1.0-', '1.0.0-a..b']) {
      expect(isNuGetVersion(bad)).toBe(false);
    }
  });
});

describe('$filter', () => {
  const [foo] = feedPackages([view('Foo.Bar', '1.0.0-u1')], true);
  const row = foo?.props;
  if (!row) throw new Error('no package');

  it.each([
    ["tolower(Id) eq 'foo.bar'", true],
    ["Id eq 'foo.bar'", false],
    ["substringof('bar',tolower(Id))", true],
    ["startswith(Id,'Foo') and endswith(Id,'Bar')", true],
    ["not IsPrerelease or Id ne 'x'", true],
    ['IsAbsoluteLatestVersion and not IsLatestVersion', true],
    ['IsPrerelease eq false', false],
    ["(length(Id) gt 3) and indexof(Id,'.') eq 3", true],
    ["concat(Id,'x') eq 'Foo.Barx'", true],
    ["Published lt datetime'2027-01-01T00:00:00'", true],
    ["Version eq '1.0.0-u1' and PackageSize ge 1", true],
    ["Id eq 'it''s'", false],
    ['Summary eq null', false],
  ])('%s is %s', (filter, expected) => {
    expect(evaluate(parseFilter(filter), row)).toBe(expected);
  });

  it.each([
    ['Id', '$filter must be a boolean expression'],
    ['Colour eq 1', '$filter: the property "Colour" is not supported'],
    ["Id add 'x'", '$filter: the operator "add" is not supported'],
    ['Id eq 1', '$filter: cannot compare string with number (eq)'],
    ["frobnicate(Id) eq 'x'", '$filter: the function "frobnicate" is not supported'],
    ["tolower(Id, 'x') eq 'x'", '$filter: tolower takes 1 arguments'],
    ["(Id eq 'x'", '$filter: expected ")" at the end'],
    ["Id eq 'x", 'a string literal is not closed'],
    ['Id eq @x', 'unexpected "@" at position 6'],
    ["Id eq 'x' Id", '$filter: unexpected text at position 10'],
    ['not Id', '$filter: not needs boolean, not string'],
  ])('refuses %s: %s', (filter, message) => {
    expect(() => parseFilter(filter)).toThrow(new ODataError(message));
  });

  const nested = (depth: number) => `${'('.repeat(depth)}Id eq 'x'${')'.repeat(depth)}`;
  it.each([
    ['parentheses', nested(1_500)],
    ['parentheses, deeper than any stack', nested(200_000)],
    ['not', `${'not '.repeat(1_500)}true`],
    ['function calls', `${'tolower('.repeat(1_500)}Id${')'.repeat(1_500)} eq 'x'`],
  ])('refuses %s nested past the limit, naming it', (_label, filter) => {
    expect(() => parseFilter(filter)).toThrow(
      new ODataError('$filter: expressions nest at most 100 levels deep'),
    );
  });

  it('takes nesting up to the limit, and long and/or chains at any length', () => {
    expect(evaluate(parseFilter(nested(100)), row)).toBe(false);
    const chain = Array.from({ length: 50_000 }, (_, i) => `Id eq 'p${i}'`).join(' or ');
    expect(evaluate(parseFilter(`${chain} or Id eq 'Foo.Bar'`), row)).toBe(true);
  });
});

describe('query options', () => {
  const params = (query: string) => new URLSearchParams(query);

  it.each([
    ['$expand=x', 'the query option $expand is not supported'],
    ['$top=1&$top=2', 'the query option $top is given twice'],
    ['$skip=x', '$skip must be a non-negative integer'],
    ['$inlinecount=some', '$inlinecount must be allpages or none'],
    ['$select=Id,Colour', '$select: the property "Colour" is not supported'],
    ['$format=json', 'only the Atom $format is supported'],
    ['$orderby=Id sideways', '$orderby: unexpected text at position 3'],
  ])('refuses %s', (query, message) => {
    expect(() => parseQueryOptions(params(query))).toThrow(new ODataError(message));
  });

  it('ignores parameters that are not system options, as OData does', () => {
    expect(parseQueryOptions(params("searchTerm=''&semVerLevel=2.0.0&$select=Id,Version"))).toEqual(
      {
        orderBy: [],
        skip: 0,
        inlineCount: false,
      },
    );
  });
});

describe('listing', () => {
  const packages = feedPackages(
    [
      view('A', '1.0.0'),
      view('A', '2.0.0-rc.1'),
      view('a', '1.5.0', '2026-01-02T00:00:00.000Z'),
      view('B', '1.0.0-u1'),
      view('C', 'not-a-version'),
    ],
    true,
  );

  it('computes the latest flags per id, case-insensitively, and drops unparseable versions', () => {
    expect(
      packages.map((p) => [
        p.view.version,
        p.props.IsLatestVersion,
        p.props.IsAbsoluteLatestVersion,
      ]),
    ).toEqual([
      ['1.0.0', false, false],
      ['2.0.0-rc.1', false, true],
      ['1.5.0', true, false],
      ['1.0.0-u1', false, true],
    ]);
    expect(feedPackages([view('A', '2.0.0-rc.1'), view('A', '1.0.0')], false)).toHaveLength(1);
  });

  it('finds a package by id and equal version', () => {
    expect(findFeedPackage(packages, 'a', '1.5')?.view.version).toBe('1.5.0');
    expect(findFeedPackage(packages, 'A', '1.5.1')).toBeUndefined();
    expect(findFeedPackage(packages, 'A', 'junk')).toBeUndefined();
  });

  it('orders versions by precedence, pages, and says where the next page starts', () => {
    const options = parseQueryOptions(
      new URLSearchParams('$orderby=Id,Version desc&$skip=1&$top=3'),
    );
    const page = runQuery(packages, options, 2);
    expect(page.entries.map((p) => p.view.version)).toEqual(['1.5.0', '1.0.0']);
    expect(page).toMatchObject({ count: 4, next: { skip: 3, top: 1 } });
    const last = runQuery(packages, { ...options, skip: 3, top: 1 }, 2);
    expect(last.entries.map((p) => p.view.version)).toEqual(['1.0.0-u1']);
    expect(last.next).toBeUndefined();
  });
});
