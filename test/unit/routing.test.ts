import { definitions } from '../../functions/all';
import { DefinitionOf } from '../../functions/definition';
import { rawPathTail } from '../../functions/rawPath';
import {
  assertUnambiguous,
  hostOrder,
  routeFor,
  routeMatcher,
  routesOf,
} from '../../local/httpTriggers';

describe('rawPathTail', () => {
  it('keeps the tail percent-encoded', () => {
    expect(rawPathTail('http://h:1/F/default/symbols/a%2Fb/C%252F/d?x=1', 3)).toBe(
      'a%2Fb/C%252F/d',
    );
    expect(rawPathTail('https://h/F/f/symbols/', 3)).toBe('');
  });
});

describe('routeMatcher, as the Functions host matches a route template (ASP.NET Core)', () => {
  const symbols = routeMatcher('F/{feed}/symbols/{*clientKey}');

  it('takes parameters, a catch-all for the rest, and literals in any case', () => {
    expect(symbols('/F/default/symbols/a/b/c')).toEqual({ feed: 'default', clientKey: 'a/b/c' });
    expect(symbols('/f/my%2Dfeed/SYMBOLS/x')).toEqual({ feed: 'my-feed', clientKey: 'x' });
    expect(symbols('/F/default/other/a')).toBeUndefined();
  });

  it('lets a catch-all match nothing, and ignores a trailing slash', () => {
    expect(symbols('/F/default/symbols')).toEqual({ feed: 'default' });
    expect(symbols('/F/default/symbols/')).toEqual({ feed: 'default' });
    expect(routeMatcher('health')('/health/')).toEqual({});
    expect(routeMatcher('health')('/health/more')).toBeUndefined();
    expect(routeMatcher('F/{feed}')('/F')).toBeUndefined();
  });

  it('matches no path with an empty segment where a template has one', () => {
    expect(symbols('/F//symbols/x')).toBeUndefined();
    expect(symbols('/F/default/symbols//x')).toBeUndefined();
    expect(symbols('/F/default/symbols/x//y')).toEqual({ feed: 'default', clientKey: 'x//y' });
  });

  it('routes "/" alone with the optional parameter of no length (the Functions host’s way)', () => {
    const root = routeMatcher('{page:maxlength(0)?}');
    expect(root('/')).toEqual({});
    expect(root('')).toEqual({});
    expect(root('/x')).toBeUndefined();
    expect(() =>
      assertUnambiguous([
        { name: 'page', template: '{page:maxlength(0)?}', methods: new Set(['GET']) },
        { name: 'health', template: 'health', methods: new Set(['GET']) },
      ]),
    ).not.toThrow();
  });

  it('refuses what it does not implement rather than match otherwise than Azure', () => {
    expect(() => routeMatcher('F/{feed:int}')).toThrow(/does not support the segment/);
    expect(() => routeMatcher('F/{feed?}')).toThrow(/does not support the segment/);
    expect(() => routeMatcher('F/{id}.json')).toThrow(/does not support the segment/);
  });
});

describe('the order of routes', () => {
  it('is the Functions host’s: by function name, ignoring case, not as declared', () => {
    const names = ['symbols', 'nugetV2', 'Admin', 'debuginfod', 'nugetPackage'];
    expect(hostOrder(names.map((name) => ({ name }))).map(({ name }) => name)).toEqual([
      'Admin',
      'debuginfod',
      'nugetPackage',
      'nugetV2',
      'symbols',
    ]);
  });

  it('cannot matter: two routes that take the same request are refused', () => {
    const route = (name: string, template: string, methods: string[]) => ({
      name,
      template,
      methods: new Set(methods),
    });
    expect(() =>
      assertUnambiguous([
        route('push', 'api/v2/package', ['PUT']),
        route('package', 'api/v2/package/{*rest}', ['PUT', 'DELETE']),
      ]),
    ).toThrow(
      'routes api/v2/package (function push) and api/v2/package/{*rest} (function package) both take some PUT requests',
    );
    expect(() =>
      assertUnambiguous([
        route('list', 'api/{feed}', ['GET']),
        route('one', 'api/{feed}/{*rest}', ['DELETE']),
        route('index', 'api/v3/index.json', ['GET']),
        route('flat', 'api/v3/flat/{id}', ['GET']),
      ]),
    ).not.toThrow();
    expect(() =>
      assertUnambiguous([route('one', 'a/{x}/b', ['GET']), route('two', 'a/c/{y}', ['GET'])]),
    ).toThrow(/both take some GET requests/);
  });
});

describe("symfeed's routes", () => {
  const http = definitions.filter((d): d is DefinitionOf<'http'> => d.kind === 'http');

  it('take no request twice', () => {
    expect(() => routesOf(http)).not.toThrow();
  });

  it.each([
    ['GET', '/F/default/symbols/foo.pdb/497b72f6390a44fc878e5a2d63b6cc4b1/foo.pdb', 'symbols'],
    ['HEAD', '/F/default/auth/sf_token/symbols/a/b/c', 'symbolsWithToken'],
    ['GET', '/F/default/buildid/0a1b2c/debuginfo', 'debuginfod'],
    ['GET', '/F/default/auth/sf_token/buildid/0a1b2c/executable', 'debuginfodWithToken'],
    ['GET', '/health', 'health'],
    ['PUT', '/F/default/api/v2/package', 'nugetPackage'],
    ['PUT', '/F/default/api/v2/package/', 'nugetPackage'],
    ['DELETE', '/F/default/api/v2/package/My.Lib/1.0.0', 'nugetPackage'],
    ['PUT', '/F/default/api/v2/symbolpackage/', 'nugetSymbolPackage'],
    ['GET', "/F/default/api/v2/FindPackagesById()?id='My.Lib'", 'nugetV2'],
    ['GET', '/F/default,own,succeeded/api/v3/index.json', 'nugetServiceIndex'],
    ['GET', '/F/default/api/v3/flatcontainer/my.lib/index.json', 'nugetFlatIndex'],
    ['GET', '/F/default/api/v3/flatcontainer/my.lib/1.0.0/my.lib.1.0.0.nupkg', 'nugetFlatDownload'],
    ['GET', '/F/default/api/v3/registration/my.lib/index.json', 'nugetRegistration'],
    ['GET', '/F/default/api/v3/registration/my.lib/page/1.0.0/2.0.0', 'nugetRegistrationPage'],
    ['GET', '/F/default/api/v3/query', 'nugetSearch'],
    ['GET', '/', 'page'],
    ['GET', '/assets/main-ABCD1234.js', 'pageAsset'],
    ['GET', '/ui/api/feeds', 'uiFeeds'],
    ['GET', '/ui/api/feeds/team/packages/0123', 'uiPackage'],
    ['GET', '/manage/feeds', 'manageFeeds'],
    ['PUT', '/manage/feeds/team', 'manageFeed'],
    ['POST', '/manage/feeds/team/tokens', 'manageFeedTokens'],
    ['DELETE', '/manage/tokens/abc', 'manageToken'],
    ['GET', '/manage/feeds/team/packages', 'managePackages'],
    ['GET', '/manage/feeds/team/retention', 'manageRetention'],
    ['DELETE', '/manage/feeds/team/packages/0123', 'managePackage'],
    // The method is part of a route: one no route declares finds none, as in Azure.
    ['DELETE', '/F/default/symbols/foo.pdb/497b72f6390a44fc878e5a2d63b6cc4b1/foo.pdb', undefined],
    ['POST', '/health', undefined],
  ])('%s %s goes to %s', (method, path, name) => {
    expect(routeFor(routesOf(http), method, path.replace(/\?.*$/, ''))?.route.name).toBe(name);
  });
});
