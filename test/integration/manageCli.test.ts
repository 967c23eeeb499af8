import { runCli } from '../support/cli';
import { getFeed, updateFeed } from '../../shared/feeds/feedTable';
import { checkToken } from '../../shared/feeds/tokens';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { freePort, startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const run = runCli;

async function fails(args: string[], message: RegExp) {
  const result = await run(...args);
  expect({ code: result.code, text: result.text }).toEqual({
    code: 1,
    text: expect.stringMatching(message) as unknown,
  });
  expect(result.text).not.toMatch(/usage:/);
}

const feed = (name: string) => getFeed(stack.rt.storage.feedsTable, name);

describe('symfeed feed', () => {
  it('creates, lists, updates and deletes feeds', async () => {
    expect(await run('feed', 'create', 'team-a')).toMatchObject({
      code: 0,
      lines: ['created feed team-a (public, retention -)'],
    });
    expect(
      await run(
        'feed',
        'create',
        'team-b',
        '--private',
        '--keep-latest',
        '3',
        '--max-age-days',
        '30',
      ),
    ).toMatchObject({ code: 0 });
    expect(
      await run('feed', 'create', 'all-teams', '--private', '--members', 'team-a,team-b'),
    ).toMatchObject({ code: 0 });
    expect(await feed('team-b')).toEqual({
      name: 'team-b',
      visibility: 'private',
      members: [],
      retention: { keepLatestPerId: 3, maxAgeDays: 30 },
      upstreams: [],
    });
    expect(await feed('all-teams')).toMatchObject({ members: ['team-a', 'team-b'] });

    const list = await run('feed', 'list');
    expect(list.code).toBe(0);
    expect(list.lines[0]).toMatch(/^NAME +VISIBILITY +MEMBERS +RETENTION +UPSTREAMS +MIRROR$/);
    expect(list.lines).toContainEqual(
      expect.stringMatching(/^all-teams +private +team-a,team-b +- +- +-$/),
    );
    expect(list.lines).toContainEqual(
      expect.stringMatching(/^team-b +private +- +keep-latest 3, max-age-days 30 +- +-$/),
    );
    const json = JSON.parse((await run('feed', 'list', '--json')).lines.join('\n')) as unknown[];
    expect(json).toContainEqual(await feed('team-b'));

    // Rules named are set, the others kept; --no-retention starts from none.
    await run('feed', 'update', 'team-b', '--max-packages', '100', '--prerelease-only');
    expect((await feed('team-b'))?.retention).toEqual({
      keepLatestPerId: 3,
      maxAgeDays: 30,
      prereleaseOnly: true,
      maxPackages: 100,
    });
    await run('feed', 'update', 'team-b', '--no-retention', '--keep-latest', '5');
    expect((await feed('team-b'))?.retention).toEqual({ keepLatestPerId: 5 });
    expect(await run('feed', 'update', 'team-b', '--public')).toMatchObject({
      code: 0,
      lines: ['updated feed team-b (public, retention keep-latest 5)'],
    });
    await run('feed', 'update', 'all-teams', '--members', '');
    expect(await feed('all-teams')).toMatchObject({ visibility: 'private', members: [] });

    expect(await run('feed', 'delete', 'all-teams')).toMatchObject({ code: 0 });
    expect(await feed('all-teams')).toBeUndefined();
  });

  it('sets upstreams in the order given, shows them without header values, and clears them', async () => {
    expect(
      await run(
        'feed',
        'create',
        'with-up',
        '--debuginfod-upstream',
        'http://127.0.0.1:8002',
        '--upstream=https://msdl.microsoft.com/download/symbols/',
        '--upstream',
        'http://symbols.example/store',
      ),
    ).toMatchObject({
      code: 0,
      lines: [
        'created feed with-up (public, retention -, upstreams debuginfod http://127.0.0.1:8002, ssqp https://msdl.microsoft.com/download/symbols, ssqp http://symbols.example/store)',
      ],
    });
    expect((await feed('with-up'))?.upstreams).toEqual([
      { kind: 'debuginfod', url: 'http://127.0.0.1:8002' },
      { kind: 'ssqp', url: 'https://msdl.microsoft.com/download/symbols' },
      { kind: 'ssqp', url: 'http://symbols.example/store' },
    ]);
    // Headers come through the API; the CLI names them, never shows their values.
    await updateFeed(stack.rt.storage.feedsTable, 'with-up', {
      upstreams: [
        {
          kind: 'ssqp',
          url: 'https://ado.example/sym',
          headers: { Authorization: 'Basic c2VjcmV0' },
        },
      ],
    });
    const list = await run('feed', 'list');
    expect(list.lines).toContainEqual(
      expect.stringMatching(
        /^with-up +public +- +- +ssqp https:\/\/ado.example\/sym \(with Authorization\) +-$/,
      ),
    );
    const json = (await run('feed', 'list', '--json')).lines.join('\n');
    expect(json).toContain('"headerNames"');
    expect(json).not.toContain('c2VjcmV0');
    await run('feed', 'update', 'with-up', '--upstream', 'http://other.example');
    expect((await feed('with-up'))?.upstreams).toEqual([
      { kind: 'ssqp', url: 'http://other.example' },
    ]);
    await run('feed', 'update', 'with-up', '--no-upstreams');
    expect((await feed('with-up'))?.upstreams).toEqual([]);
    await fails(
      ['feed', 'update', 'with-up', '--upstream', 'ftp://x'],
      /invalid feed: upstreams.0.url: must be an absolute http or https URL/,
    );
    await fails(['feed', 'update', 'with-up', '--upstream', 'http://u:p@x'], /without credentials/);
    await fails(
      ['feed', 'create', 'up-aggregate', '--members', 'with-up', '--upstream', 'http://x'],
      /an aggregate has no upstreams of its own/,
    );
  });

  it('refuses bad feeds with a message and exit status 1', async () => {
    await run('feed', 'create', 'ring-a');
    await run('feed', 'create', 'ring-b', '--members', 'ring-a');
    await fails(['feed', 'create', 'Bad_Name'], /invalid feed: name: a feed name is/);
    await fails(['feed', 'create', '--', '-x'], /a feed name is/);
    await fails(['feed', 'create', 'ring-a'], /feed "ring-a" already exists/);
    await fails(
      ['feed', 'create', 'lonely', '--members', 'nowhere'],
      /member feed "nowhere" does not exist/,
    );
    await fails(
      ['feed', 'update', 'ring-a', '--members', 'ring-b'],
      /cycle: ring-a -> ring-b -> ring-a/,
    );
    await fails(['feed', 'create', 'self', '--members', 'self'], /cannot be its own member/);
    await fails(['feed', 'create', 'zero', '--keep-latest', '0'], /retention\.keepLatestPerId/);
    await fails(
      ['feed', 'update', 'no-such-feed', '--private'],
      /feed "no-such-feed" does not exist/,
    );
    await fails(['feed', 'delete', 'no-such-feed'], /feed "no-such-feed" does not exist/);
    await fails(['feed', 'delete', 'ring-a'], /feed "ring-a" is a member of "ring-b"/);
    expect(await feed('lonely')).toBeUndefined();
    expect(await feed('zero')).toBeUndefined();
  });
});

describe('symfeed token', () => {
  beforeAll(() => run('feed', 'create', 'tokened', '--private'));

  it('prints the new token alone on standard output and stores only its hash', async () => {
    const result = await run(
      'token',
      'create',
      'tokened',
      '--scopes',
      'read,push',
      '--expires',
      '90d',
      '--owner',
      'ci',
    );
    expect(result.code).toBe(0);
    expect(result.lines).toEqual([expect.stringMatching(/^sf_[A-Za-z0-9_-]{43}$/)]);
    const token = result.lines[0]!;
    expect(result.warnings.join('\n')).not.toContain(token);
    const check = await checkToken(stack.rt.storage.tokensTable, token);
    expect(check).toMatchObject({
      valid: true,
      info: { feed: 'tokened', scopes: ['read', 'push'], owner: 'ci' },
    });
    if (!check.valid) return;
    const days = (Date.parse(check.info.expiresAt!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);

    const stored = [];
    for await (const row of stack.rt.storage.tokensTable.listEntities()) stored.push(row);
    expect(JSON.stringify(stored)).not.toContain(token);

    const list = await run('token', 'list', 'tokened');
    expect(list.lines[0]).toMatch(/^ID +FEED +SCOPES +OWNER +CREATED +EXPIRES +REVOKED$/);
    expect(list.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${check.info.id} +tokened +read,push +ci +\\S+ +${check.info.expiresAt} +no$`),
      ),
    );
    expect(list.text).not.toContain(token);
    const json = JSON.parse((await run('token', 'list', '--json')).lines.join('\n')) as unknown[];
    expect(json).toContainEqual(check.info);
    expect(JSON.stringify(json)).not.toContain(token);

    expect(await run('token', 'revoke', check.info.id)).toMatchObject({
      code: 0,
      lines: [expect.stringMatching(new RegExp(`^revoked token ${check.info.id} of feed tokened`))],
    });
    expect(await checkToken(stack.rt.storage.tokensTable, token)).toEqual({
      valid: false,
      reason: 'revoked',
    });
    expect((await run('token', 'list', 'tokened')).lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${check.info.id} .* yes$`)),
    );
  });

  it('refuses bad token requests with a message and exit status 1', async () => {
    await fails(
      ['token', 'create', 'nowhere', '--scopes', 'read'],
      /feed "nowhere" does not exist/,
    );
    await fails(
      ['token', 'create', 'tokened', '--scopes', 'read,write'],
      /invalid token request: scopes\.1/,
    );
    await fails(['token', 'create', 'tokened', '--scopes', ''], /at least one scope/);
    await fails(
      ['token', 'create', 'tokened', '--scopes', 'read', '--expires', 'soon'],
      /expires: a lifetime is/,
    );
    await fails(['token', 'revoke', '0123456789abcdef'], /no token has the id "0123456789abcdef"/);
    await fails(['token', 'revoke', 'not-an-id'], /no token has the id "not-an-id"/);
    await fails(['token', 'list', 'nowhere'], /feed "nowhere" does not exist/);
  });
});

describe('symfeed package', () => {
  const name = 'MyLib.1.2.3.zip';
  const uid = packageUidFor('default', name);

  beforeAll(async () => {
    await stack.upload(name, await makeZip([{ name: 'a.txt', data: 'a' }]));
    await stack.indexed(name);
  });

  it("lists a feed's packages, as a table and as JSON, by state", async () => {
    const list = await run('package', 'list', 'default');
    expect(list.code).toBe(0);
    expect(list.lines[0]).toMatch(/^UID +ID +VERSION +STATE +UPLOADED +BLOB$/);
    expect(list.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${uid} +MyLib +1\\.2\\.3 +succeeded +\\S+ +default/${name}$`),
      ),
    );
    const json = JSON.parse(
      (await run('package', 'list', 'default', '--json')).lines.join('\n'),
    ) as unknown[];
    expect(json).toContainEqual(
      expect.objectContaining({
        uid,
        id: 'MyLib',
        version: '1.2.3',
        state: 'succeeded',
        blob: `default/${name}`,
        uploadedAt: expect.any(String) as unknown,
      }),
    );
    const damaged = await run('package', 'list', 'default', '--state', 'damaged', '--json');
    expect(JSON.parse(damaged.lines.join('\n'))).toEqual([]);
    await fails(['package', 'list', 'default', '--state', 'shiny'], /invalid state/);
    await fails(['package', 'list', 'nowhere'], /feed "nowhere" does not exist/);
  });

  it('lists a page at a time with --top, naming the command for the next page', async () => {
    const second = 'MyLib.Two.1.0.0.zip';
    await stack.upload(second, await makeZip([{ name: 'c.txt', data: 'c' }]));
    await stack.indexed(second);
    const seen: string[] = [];
    let args = ['package', 'list', 'default', '--top', '1', '--json'];
    for (;;) {
      const page = await run(...args);
      expect({ code: page.code, text: page.text }).toMatchObject({ code: 0 });
      const packages = JSON.parse(page.lines.join('\n')) as { uid: string }[];
      expect(packages.length).toBeLessThanOrEqual(1);
      seen.push(...packages.map((p) => p.uid));
      const more = /^more: symfeed (package list default --top 1) --continuation (\S+)$/.exec(
        page.warnings.join('\n'),
      );
      if (!more) break;
      args = [...(more[1] ?? '').split(' '), '--continuation', more[2] ?? '', '--json'];
    }
    const all = JSON.parse((await run('package', 'list', 'default', '--json')).lines.join('\n'));
    expect(seen).toEqual((all as { uid: string }[]).map((p) => p.uid));
    expect(seen).toEqual(expect.arrayContaining([uid, packageUidFor('default', second)]));
    const garbled = Buffer.from('{"next":').toString('base64');
    await fails(['package', 'list', 'default', '--continuation', garbled], /invalid continuation/);
  });

  it('rebuilds the listings of a feed', async () => {
    const result = await run('listings', 'rebuild', 'default');
    expect(result).toMatchObject({ code: 0 });
    expect(result.text).toMatch(/^listings of feed "default": \d+ ids in 1 index pages$/);
    await fails(['listings', 'rebuild', 'No Feed'], /is not a feed name/);
  });

  it('shows the status document', async () => {
    const result = await run('package', 'show', 'default', uid);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.lines.join('\n'))).toMatchObject({
      feed: 'default',
      packageUid: uid,
      name,
      state: 'succeeded',
    });
    await fails(
      ['package', 'show', 'default', 'f'.repeat(32)],
      /feed "default" has no package f{32}/,
    );
    await fails(['package', 'show', 'default', 'nope'], /invalid package uid/);
  });

  it('queues a delete once, then says it is already on its way or done', async () => {
    const deleted = 'Doomed.1.0.0.zip';
    const doomed = packageUidFor('default', deleted);
    await stack.upload(deleted, await makeZip([{ name: 'b.txt', data: 'b' }]));
    await stack.indexed(deleted);

    expect(await run('package', 'delete', 'default', doomed)).toMatchObject({
      code: 0,
      lines: [`package ${doomed} of feed default: delete queued`],
    });
    expect(await run('package', 'delete', 'default', doomed)).toMatchObject({
      code: 0,
      lines: [`package ${doomed} of feed default is already deleted or being deleted`],
    });
    const state = async () =>
      (await getPackageRow(stack.rt.storage.packagesTable, 'default', doomed))?.state;
    const deadline = Date.now() + 30_000;
    while ((await state()) !== 'deleted' && Date.now() < deadline) await stack.host.drain();
    expect(await state()).toBe('deleted');
    expect((await run('package', 'delete', 'default', doomed)).lines).toEqual([
      `package ${doomed} of feed default is already deleted or being deleted`,
    ]);
    await fails(
      ['package', 'delete', 'default', 'e'.repeat(32)],
      /feed "default" has no package e{32}/,
    );
  });
});

it('runs retention on a feed', async () => {
  const result = await run('retention', 'run', 'default', '--dry-run');
  expect(result.code).toBe(0);
  expect(result.warnings.join('\n')).toMatch(/dry run/);
});

describe('usage', () => {
  it.each([
    [['feed']],
    [['feed', 'frobnicate']],
    [['feed', 'create']],
    [['feed', 'create', 'a', 'b']],
    [['feed', 'create', 'a', '--nope']],
    [['feed', 'create', 'a', '--keep-latest', 'many']],
    [['feed', 'update', 'a']],
    [['feed', 'update', 'a', '--private', '--public']],
    [['feed', 'list', 'extra']],
    [['token']],
    [['token', 'create', 'a']],
    [['token', 'revoke']],
    [['token', 'list', 'a', 'b']],
    [['package', 'show', 'default']],
    [['package', 'delete', 'default']],
    [['package', 'list']],
    [['retention', 'run']],
    [['retention', 'go', 'default']],
  ])('exits 2 with the usage for %j', async (args) => {
    const { code, text } = await run(...args);
    expect(code).toBe(2);
    expect(text).toMatch(/usage:\n {2}symfeed keys/);
    expect(text).toMatch(/symfeed token create <feed> --scopes/);
  });
});

it('says so when the storage account cannot be reached', async () => {
  const saved = process.env.AzureWebJobsStorage;
  const port = await freePort();
  process.env.AzureWebJobsStorage = saved?.replace(/:\d+\//g, `:${port}/`);
  try {
    const result = await run('feed', 'list');
    expect(result.code).toBe(1);
    expect(result.text).toMatch(
      /storage account in AzureWebJobsStorage .* failed: connect ECONNREFUSED/,
    );
  } finally {
    process.env.AzureWebJobsStorage = saved;
  }
});
