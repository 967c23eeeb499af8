import { admin } from '../../functions/admin';
import { apiPorts } from '../../functions/ports';
import { LocalHost, startLocalHost } from '../../local/host';
import { handleAdmin } from '../../shared/admin/adminApi';
import { parseSettings } from '../../shared/config/settings';
import { getFeed, getMirrorCursor, setMirrorCursor } from '../../shared/feeds/feedTable';
import { checkToken } from '../../shared/feeds/tokens';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { createRuntime } from '../../shared/runtime';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef-0123456789';

let stack: Stack;
/** A host of the admin functions only, beside the stack's host of the others. */
let host: LocalHost;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startStack({ SYMFEED_ADMIN_TOKEN: ADMIN_TOKEN });
  host = await startLocalHost({
    definitions: admin,
    port: 0,
    container: (name) => stack.rt.storage.blobs.getContainerClient(name),
    queues: stack.rt.storage.queues,
    log: (line) => logs.push(line),
  });
});
afterAll(async () => {
  await host?.close();
  await stack?.stop();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = `Bearer ${ADMIN_TOKEN}`,
) {
  const response = await fetch(`${host.url}/manage/${path}`, {
    method,
    headers: authorization === null ? {} : { Authorization: authorization },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as Record<string, unknown> | undefined,
  };
}

const feed = (name: string) => getFeed(stack.rt.storage.feedsTable, name);

describe('authorisation', () => {
  it('answers 401 with a Bearer challenge without the admin token', async () => {
    for (const authorization of [
      null,
      'Bearer wrong',
      `Basic ${btoa(`x:${ADMIN_TOKEN}`)}`,
      ADMIN_TOKEN,
    ]) {
      const response = await call('GET', 'feeds', undefined, authorization);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="symfeed admin"/);
      expect(response.body).toEqual({ error: expect.any(String) as unknown });
    }
    expect((await call('GET', 'feeds', undefined, `bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('is off, with a 503 saying so, when SYMFEED_ADMIN_TOKEN is not set', async () => {
    const settings = parseSettings({
      AzureWebJobsStorage: process.env.AzureWebJobsStorage,
      SYMFEED_ADMIN_TOKEN: '',
    });
    const response = await handleAdmin(
      apiPorts(createRuntime(settings)),
      'listFeeds',
      {
        params: {},
        query: new URLSearchParams(),
        authorization: `Bearer ${ADMIN_TOKEN}`,
        body: null,
      },
      () => undefined,
    );
    expect(response).toMatchObject({
      status: 503,
      jsonBody: { error: 'the admin API is off; set SYMFEED_ADMIN_TOKEN to turn it on' },
    });
  });
});

describe('feeds', () => {
  it('creates with PUT, changes only what the body names, lists and deletes', async () => {
    expect(await call('PUT', 'feeds/api-a', {})).toMatchObject({
      status: 201,
      body: { name: 'api-a', visibility: 'public', members: [], retention: {} },
    });
    const created = await call('PUT', 'feeds/api-b', {
      visibility: 'private',
      retention: { keepLatestPerId: 2 },
    });
    expect(created).toMatchObject({ status: 201, body: { visibility: 'private' } });
    expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    expect(created.headers.get('cache-control')).toBe('no-store');

    expect(await call('PUT', 'feeds/api-b', { members: ['api-a'] })).toMatchObject({
      status: 200,
      body: {
        name: 'api-b',
        visibility: 'private',
        members: ['api-a'],
        retention: { keepLatestPerId: 2 },
      },
    });
    const { body } = await call('GET', 'feeds');
    expect(body?.feeds).toContainEqual(await feed('api-b'));

    expect(await call('DELETE', 'feeds/api-a')).toMatchObject({
      status: 409,
      body: { error: 'feed "api-a" is a member of "api-b"' },
    });
    expect(await call('DELETE', 'feeds/api-b')).toMatchObject({ status: 204, body: undefined });
    expect(await feed('api-b')).toBeUndefined();
    expect(await call('DELETE', 'feeds/api-b')).toMatchObject({
      status: 404,
      body: { error: 'feed "api-b" does not exist' },
    });
  });

  it.each([
    ['Bad_Name', {}, /^invalid feed name: a feed name is/],
    ['ok', '{not json', /^the request body is not JSON$/],
    ['ok', [], /^invalid feed: /],
    ['ok', { visibility: 'secret' }, /^invalid feed: visibility: /],
    ['ok', { name: 'other' }, /^invalid feed: Unrecognized key: "name"/],
    ['ok', { retention: { keepLatestPerId: -1 } }, /^invalid feed: retention\.keepLatestPerId: /],
    ['ok', { members: ['nowhere'] }, /^member feed "nowhere" does not exist$/],
    ['ok', { members: ['ok'] }, /^feed "ok" cannot be its own member$/],
    [
      'ok',
      { upstreams: [{ kind: 'ssqp', url: '/relative' }] },
      /^invalid feed: upstreams\.0\.url: /,
    ],
    ['ok', { upstreams: [{ kind: 'ssqp', url: 'http://x/?a=1' }] }, /without credentials, query/],
    [
      'ok',
      { upstreams: [{ kind: 'msdl', url: 'http://x' }] },
      /^invalid feed: upstreams\.0\.kind: /,
    ],
    [
      'ok',
      { upstreams: Array.from({ length: 9 }, () => ({ kind: 'ssqp', url: 'http://x' })) },
      /^invalid feed: upstreams: at most 8 upstreams$/,
    ],
    [
      'ok',
      { upstreams: [{ kind: 'ssqp', url: 'http://x', headers: { 'Bad Name': 'v' } }] },
      /^invalid feed: upstreams\.0\.headers\.Bad Name: /,
    ],
  ])('refuses PUT feeds/%s with %j: 400', async (name, body, message) => {
    expect(await call('PUT', `feeds/${name}`, body)).toEqual({
      status: 400,
      headers: expect.anything() as unknown,
      body: { error: expect.stringMatching(message) as unknown },
    });
    expect(await feed('ok')).toBeUndefined();
  });

  it('takes upstreams with headers, and never shows the header values', async () => {
    const secret = 'Basic dXBzdHJlYW0tc2VjcmV0';
    const upstreams = [
      {
        kind: 'ssqp',
        url: 'https://pkgs.example/_apis/symbol/symsrv',
        headers: { Authorization: secret },
      },
      { kind: 'debuginfod', url: 'https://debuginfod.example/' },
    ];
    const created = await call('PUT', 'feeds/api-up', { upstreams });
    expect(created).toMatchObject({
      status: 201,
      body: {
        upstreams: [
          {
            kind: 'ssqp',
            url: 'https://pkgs.example/_apis/symbol/symsrv',
            headerNames: ['Authorization'],
          },
          { kind: 'debuginfod', url: 'https://debuginfod.example' },
        ],
      },
    });
    expect(JSON.stringify(created.body)).not.toContain(secret);
    expect(JSON.stringify((await call('GET', 'feeds')).body)).not.toContain(secret);
    expect((await feed('api-up'))?.upstreams[0]?.headers).toEqual({ Authorization: secret });
    // A change of other settings keeps the upstreams; an empty list clears them.
    await call('PUT', 'feeds/api-up', { visibility: 'private' });
    expect((await feed('api-up'))?.upstreams).toHaveLength(2);
    await call('PUT', 'feeds/api-up', { upstreams: [] });
    expect((await feed('api-up'))?.upstreams).toEqual([]);
  });

  it('takes a mirror with a token, never shows the token, and keeps the cursor unless the source moves', async () => {
    const url = 'https://source.example/F/team/api/v3/index.json';
    const created = await call('PUT', 'feeds/api-mirror', {
      mirror: { url, token: 'mirror-secret' },
    });
    expect(created).toMatchObject({ status: 201, body: { mirror: { url, withToken: true } } });
    expect(JSON.stringify(created.body)).not.toContain('mirror-secret');
    expect(JSON.stringify((await call('GET', 'feeds')).body)).not.toContain('mirror-secret');
    expect((await feed('api-mirror'))?.mirror).toEqual({ url, token: 'mirror-secret' });
    const { feedsTable } = stack.rt.storage;
    await setMirrorCursor(feedsTable, 'api-mirror', '2026-11-30T00:00:00.000Z');
    await call('PUT', 'feeds/api-mirror', { visibility: 'private' });
    expect(await getMirrorCursor(feedsTable, 'api-mirror')).toBe('2026-11-30T00:00:00.000Z');
    expect((await feed('api-mirror'))?.mirror?.token).toBe('mirror-secret');
    await call('PUT', 'feeds/api-mirror', { mirror: { url: url.replace('team', 'other') } });
    expect(await getMirrorCursor(feedsTable, 'api-mirror')).toBe('');
    expect(await call('PUT', 'feeds/api-mirror2', { mirror: { url: 'ftp://x/' } })).toMatchObject({
      status: 400,
    });
  });

  it('refuses members that would form a cycle', async () => {
    await call('PUT', 'feeds/loop-a', {});
    await call('PUT', 'feeds/loop-b', { members: ['loop-a'] });
    expect(await call('PUT', 'feeds/loop-a', { members: ['loop-b'] })).toMatchObject({
      status: 400,
      body: { error: 'members would form a cycle: loop-a -> loop-b -> loop-a' },
    });
  });
});

describe('tokens', () => {
  beforeAll(() => call('PUT', 'feeds/keyed', { visibility: 'private' }));

  it('creates a token, lists it without its secret, and revokes it', async () => {
    const created = await call('POST', 'feeds/keyed/tokens', {
      scopes: ['read', 'push'],
      expires: '12h',
      owner: 'build',
    });
    expect(created).toMatchObject({
      status: 201,
      body: {
        token: expect.stringMatching(/^sf_/) as unknown,
        id: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown,
        feed: 'keyed',
        scopes: ['read', 'push'],
        owner: 'build',
        revoked: false,
      },
    });
    const { token, ...info } = created.body as { token: string; id: string };
    expect(await checkToken(stack.rt.storage.tokensTable, token)).toEqual({ valid: true, info });

    const listed = await call('GET', 'feeds/keyed/tokens');
    expect(listed).toMatchObject({ status: 200, body: { tokens: [info] } });
    expect(JSON.stringify(listed.body)).not.toContain(token);

    expect(await call('DELETE', `tokens/${info.id}`)).toMatchObject({
      status: 200,
      body: { ...info, revoked: true },
    });
    expect(await checkToken(stack.rt.storage.tokensTable, token)).toEqual({
      valid: false,
      reason: 'revoked',
    });
    // A secret pasted where the id belongs is refused, and stays out of the log.
    expect(await call('DELETE', `tokens/${token}`)).toMatchObject({ status: 404 });
    expect(await call('DELETE', 'tokens/0123456789abcdef')).toMatchObject({
      status: 404,
      body: { error: 'no token has the id "0123456789abcdef"; token list shows them' },
    });

    expect(logs).toContainEqual(
      expect.stringMatching(
        new RegExp(`^manageFeedTokens .*created token ${info.id} of feed keyed`),
      ),
    );
    expect(logs).toContainEqual(expect.stringMatching(new RegExp(`revoked token ${info.id}`)));
    for (const line of [...logs, ...stack.logs]) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(ADMIN_TOKEN);
    }
  });

  it.each([
    ['keyed', { scopes: ['write'] }, 400, /^invalid token request: scopes\.0: /],
    ['keyed', { scopes: [] }, 400, /at least one scope is needed/],
    ['keyed', {}, 400, /^invalid token request: scopes: /],
    ['keyed', { scopes: ['read'], expires: 'tomorrow' }, 400, /expires: a lifetime is/],
    ['keyed', { scopes: ['read'], extra: 1 }, 400, /Unrecognized key: "extra"/],
    ['nowhere', { scopes: ['read'] }, 404, /^feed "nowhere" does not exist$/],
  ])('refuses a token of %s with %j', async (name, body, status, message) => {
    expect(await call('POST', `feeds/${name}/tokens`, body)).toMatchObject({
      status,
      body: { error: expect.stringMatching(message) as unknown },
    });
  });
});

describe('packages', () => {
  const name = 'Api.Pkg.2.0.0.zip';
  const uid = packageUidFor('default', name);

  beforeAll(async () => {
    await stack.upload(name, await makeZip([{ name: 'a.txt', data: 'a' }]));
    await stack.indexed(name);
  });

  it('lists packages by state and shows one status document', async () => {
    const all = await call('GET', 'feeds/default/packages');
    expect(all.status).toBe(200);
    expect(all.body?.packages).toContainEqual(
      expect.objectContaining({
        uid,
        id: 'Api.Pkg',
        version: '2.0.0',
        state: 'succeeded',
        blob: `default/${name}`,
      }),
    );
    expect(await call('GET', 'feeds/default/packages?state=damaged')).toMatchObject({
      status: 200,
      body: { packages: [] },
    });
    const first = await call('GET', 'feeds/default/packages?top=1');
    expect(first.body?.packages).toHaveLength(1);
    if (first.body?.continuation !== undefined) {
      const next = await call(
        'GET',
        `feeds/default/packages?top=1&continuation=${encodeURIComponent(String(first.body.continuation))}`,
      );
      expect(next.status).toBe(200);
    }
    expect(await call('GET', 'feeds/default/packages?continuation=bm90IGpzb24=')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid continuation: /) as unknown },
    });
    expect(await call('GET', 'feeds/default/packages?state=shiny')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^invalid state: /) as unknown },
    });
    expect(await call('GET', `feeds/default/packages/${uid}`)).toMatchObject({
      status: 200,
      body: { feed: 'default', packageUid: uid, name, state: 'succeeded' },
    });
    expect(await call('GET', `feeds/default/packages/${'f'.repeat(32)}`)).toMatchObject({
      status: 404,
    });
    expect(await call('GET', 'feeds/default/packages/xyz')).toMatchObject({ status: 400 });
    expect(await call('GET', 'feeds/nowhere/packages')).toMatchObject({ status: 404 });
  });

  it('queues a delete with 202, then answers that it is already done', async () => {
    expect(await call('DELETE', `feeds/default/packages/${uid}`, { reason: 'test' })).toEqual({
      status: 202,
      headers: expect.anything() as unknown,
      body: { feed: 'default', uid, outcome: 'queued' },
    });
    expect(await call('DELETE', `feeds/default/packages/${uid}`)).toMatchObject({
      status: 200,
      body: { outcome: 'already' },
    });
    const state = async () =>
      (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))?.state;
    const deadline = Date.now() + 30_000;
    while ((await state()) !== 'deleted' && Date.now() < deadline) await stack.host.drain();
    expect(await state()).toBe('deleted');
    expect(await call('DELETE', `feeds/default/packages/${'e'.repeat(32)}`)).toMatchObject({
      status: 404,
      body: { error: `feed "default" has no package ${'e'.repeat(32)}` },
    });
    expect(await call('DELETE', `feeds/default/packages/${uid}`, { reason: '' })).toMatchObject({
      status: 400,
    });
  });
});
