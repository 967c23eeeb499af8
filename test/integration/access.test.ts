import { createFeed, updateFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/** Private feeds stay private; aggregates serve their members by design.md's precedence. */
let stack: Stack;
let readToken: string;
let readTokenId: string;
let pushOnly: string;
let otherFeedToken: string;
let aggregateToken: string;
const consoleLines: string[] = [];

const url = (path: string) => `${stack.host.url}${path}`;
const basic = (token: string) => `Basic ${Buffer.from(`any-user:${token}`).toString('base64')}`;

beforeAll(async () => {
  const original = console.log;
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    consoleLines.push(args.map(String).join(' '));
    original(...args);
  });
  stack = await startStack({
    SYMFEED_LOCATION_CACHE_SECONDS: '0',
    SYMFEED_MISS_CACHE_SECONDS: '0',
    // Each visibility has its own cache lifetime: raising the public one leaves private files be.
    SYMFEED_PUBLIC_MAX_AGE_SECONDS: '600',
    SYMFEED_PRIVATE_MAX_AGE_SECONDS: '60',
  });
  const { feedsTable, tokensTable } = stack.rt.storage;
  await createFeed(feedsTable, { name: 'secret', visibility: 'private' });
  await createFeed(feedsTable, { name: 'other', visibility: 'private' });
  await createFeed(feedsTable, {
    name: 'both',
    visibility: 'private',
    members: ['secret', 'default'],
  });
  await createFeed(feedsTable, { name: 'everything', members: ['default'] });
  ({
    token: readToken,
    info: { id: readTokenId },
  } = await createToken(tokensTable, { feed: 'secret', scopes: ['read'] }));
  ({ token: pushOnly } = await createToken(tokensTable, { feed: 'secret', scopes: ['push'] }));
  ({ token: otherFeedToken } = await createToken(tokensTable, { feed: 'other', scopes: ['read'] }));
  ({ token: aggregateToken } = await createToken(tokensTable, { feed: 'both', scopes: ['read'] }));

  const pkg = (keys: { clientKey: string; blobPath: string }[], files: Record<string, string>) =>
    makeZip([
      { name: 'symbol_index.json', data: symbolIndex(keys) },
      ...Object.entries(files).map(([name, data]) => ({ name, data })),
    ]);
  await stack.upload(
    's.zip',
    await pkg(
      [
        { clientKey: 'secret/1/secret', blobPath: 's.txt' },
        { clientKey: 'shared/1/shared', blobPath: 's.txt' },
      ],
      { 's.txt': 'from secret' },
    ),
    'secret',
  );
  await stack.upload(
    'd.zip',
    await pkg(
      [
        { clientKey: 'public/1/public', blobPath: 'd.txt' },
        { clientKey: 'shared/1/shared', blobPath: 'd.txt' },
      ],
      { 'd.txt': 'from default' },
    ),
  );
  await stack.indexed('s.zip', 'secret');
  await stack.indexed('d.zip');
});

afterAll(async () => {
  // No token, in the path or not, ever reaches a log line.
  const logs = [...stack.logs, ...consoleLines].join('\n');
  for (const token of [readToken, pushOnly, otherFeedToken, aggregateToken])
    expect(logs).not.toContain(token);
  jest.restoreAllMocks();
  await stack.stop();
});

describe('a private feed', () => {
  it('refuses anonymous reads with 401 and WWW-Authenticate', async () => {
    const response = await fetch(url('/F/secret/symbols/secret/1/secret'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Basic realm="symfeed feed secret", charset="UTF-8"',
    );
    expect(await response.text()).toMatch(/needs a token/);
  });

  it.each([
    [
      'a token in the path',
      (t: string) => [`/F/secret/auth/${t}/symbols/secret/1/secret`, {}] as const,
    ],
    [
      'HTTP Basic',
      (t: string) => ['/F/secret/symbols/secret/1/secret', { Authorization: basic(t) }] as const,
    ],
    [
      'a bearer token',
      (t: string) =>
        ['/F/secret/symbols/secret/1/secret', { Authorization: `Bearer ${t}` }] as const,
    ],
  ])('serves with a read token as %s, privately cached', async (_label, form) => {
    const [path, headers] = form(readToken);
    const response = await fetch(url(path), { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, max-age=60');
    expect(await response.text()).toBe('from secret');
  });

  it('answers a miss with 404, not 401 or 403', async () => {
    expect((await fetch(url(`/F/secret/auth/${readToken}/symbols/index2.txt`))).status).toBe(404);
  });

  it.each([
    ['of another feed', () => otherFeedToken, 403, /for another feed/],
    ['without the read scope', () => pushOnly, 403, /lacks the "read" scope/],
    ['truncated', () => readToken.slice(0, -1), 401, /not a symfeed token/],
    ['with an extra character', () => `${readToken}x`, 401, /not a symfeed token/],
    ['that is unknown', () => `sf_${'A'.repeat(43)}`, 401, /not known/],
  ])('refuses a token %s', async (_label, token, status, message) => {
    const response = await fetch(url(`/F/secret/auth/${token()}/symbols/secret/1/secret`));
    expect(response.status).toBe(status);
    expect(await response.text()).toMatch(message);
  });

  it('refuses a Basic header that is not base64, and an unknown scheme', async () => {
    const notBase64 = await fetch(url('/F/secret/symbols/secret/1/secret'), {
      headers: { Authorization: 'Basic %%%not-base64%%%' },
    });
    expect(notBase64.status).toBe(401);
    expect(await notBase64.text()).toMatch(/not base64/);
    const digest = await fetch(url('/F/secret/symbols/secret/1/secret'), {
      headers: { Authorization: 'Digest abc' },
    });
    expect(digest.status).toBe(401);
  });

  it('refuses an expired token, and one revoked through this instance at once', async () => {
    const { tokensTable } = stack.rt.storage;
    const { token: expired } = await createToken(tokensTable, {
      feed: 'secret',
      scopes: ['read'],
      expiresAt: new Date(Date.now() - 1000),
    });
    expect(
      await (await fetch(url(`/F/secret/auth/${expired}/symbols/secret/1/secret`))).text(),
    ).toMatch(/expired/);
    await stack.rt.tokens.revoke(readTokenId);
    const response = await fetch(url(`/F/secret/auth/${readToken}/symbols/secret/1/secret`));
    expect(response.status).toBe(401);
    expect(await response.text()).toMatch(/revoked/);
  });
});

describe('aggregate feeds', () => {
  it('serves the files of a public member through a public aggregate, anonymously', async () => {
    const response = await fetch(url('/F/everything/symbols/public/1/public'));
    expect(response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(await response.text()).toBe('from default');
  });

  it('serves a private member only to a caller who may read the aggregate, members in order', async () => {
    expect((await fetch(url('/F/both/symbols/secret/1/secret'))).status).toBe(401);
    const viaAggregate = await fetch(url(`/F/both/auth/${aggregateToken}/symbols/secret/1/secret`));
    expect(await viaAggregate.text()).toBe('from secret');
    // Both members map shared/1/shared explicitly: the first member wins.
    expect(
      await (await fetch(url(`/F/both/auth/${aggregateToken}/symbols/shared/1/shared`))).text(),
    ).toBe('from secret');
    expect(
      await (await fetch(url(`/F/both/auth/${aggregateToken}/symbols/public/1/public`))).text(),
    ).toBe('from default');
  });

  it("does not let an aggregate's token read a member directly", async () => {
    const response = await fetch(url(`/F/secret/auth/${aggregateToken}/symbols/secret/1/secret`));
    expect(response.status).toBe(403);
  });

  it('puts an explicit key of a later member before a derived key of an earlier one', async () => {
    const { feedsTable } = stack.rt.storage;
    await createFeed(feedsTable, { name: 'first' });
    await createFeed(feedsTable, { name: 'second' });
    await createFeed(feedsTable, { name: 'ordered', members: ['first', 'second'] });
    // The perfmap fixture derives its key in "first"; "second" maps the same key explicitly.
    const key =
      'system.private.corelib.ni.r2rmap/r2rmap-v1-f5fddf60efb0bee79ef02a19c3decba9/system.private.corelib.ni.r2rmap';
    const perfmap = 'FFFFFFFF 0 F5FDDF60EFB0BEE79EF02A19C3DECBA9\nFFFFFFFE 0 1\n';
    await stack.upload(
      'derived.zip',
      await makeZip([{ name: 'System.Private.CoreLib.ni.r2rmap', data: perfmap }]),
      'first',
    );
    await stack.upload(
      'explicit.zip',
      await makeZip([
        { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: 'x.txt' }]) },
        { name: 'x.txt', data: 'explicit in second' },
      ]),
      'second',
    );
    await stack.indexed('derived.zip', 'first');
    await stack.indexed('explicit.zip', 'second');
    expect(await (await fetch(url(`/F/first/symbols/${key}`))).text()).toBe(perfmap);
    expect(await (await fetch(url(`/F/ordered/symbols/${key}`))).text()).toBe('explicit in second');
  });

  it('refuses cycles, unknown members, and a public aggregate over a private feed', async () => {
    const { feedsTable } = stack.rt.storage;
    await expect(updateFeed(feedsTable, 'default', { members: ['everything'] })).rejects.toThrow(
      /cycle: default -> everything -> default/,
    );
    await expect(createFeed(feedsTable, { name: 'ghosts', members: ['nope'] })).rejects.toThrow(
      /member feed "nope" does not exist/,
    );
    await expect(createFeed(feedsTable, { name: 'leaky', members: ['secret'] })).rejects.toThrow(
      /cannot include private feed "secret"/,
    );
    await expect(createFeed(feedsTable, { name: 'Bad_Name' })).rejects.toThrow(
      /invalid feed: name/,
    );
    await expect(createFeed(feedsTable, { name: 'secret', visibility: 'private' })).rejects.toThrow(
      /already exists/,
    );
  });
});
