import { ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { freePort, startStack, Stack } from '../support/stack';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * A change of visibility, membership or token takes effect at once on the instance that made it,
 * and within the documented 5 s on every other instance (another host on the same storage, the
 * CLI); files of public feeds are revalidated by shared caches on every use, so a feed made
 * private is not served from them either. Default cache settings throughout: locations are
 * remembered for 30 s here, as in production.
 */
const ADMIN_TOKEN = 'access-changes-admin-token-0123456789abcdef';
/** The documented bound for other instances, and what one poll and its request may add to it. */
const OTHER_INSTANCE_BOUND_MS = 5_000;
const POLL_SLACK_MS = 1_000;

const dist = path.join(__dirname, '../../dist');
let stack: Stack;
/** A second host process on the same storage: another instance, with its own memory. */
let second: { child: ChildProcess; url: string; exit: Promise<unknown> } | undefined;

beforeAll(async () => {
  stack = await startStack({ SYMFEED_ADMIN_TOKEN: ADMIN_TOKEN });
});
afterAll(async () => {
  if (second) {
    second.child.kill('SIGINT');
    await second.exit;
  }
  await stack?.stop();
});

const url = (base: string, pathAndQuery: string) => `${base}${pathAndQuery}`;
const here = (pathAndQuery: string) => url(stack.host.url, pathAndQuery);

async function status(target: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(target, { headers });
  await response.arrayBuffer();
  return response.status;
}

async function manage(base: string, method: string, pathname: string, body?: unknown) {
  const response = await fetch(url(base, `/manage/${pathname}`), {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

/** A feed with one file under `{feed}/1/{feed}`, indexed. */
async function feedWithFile(name: string, visibility: 'public' | 'private' = 'public') {
  await createFeed(stack.rt.storage.feedsTable, { name, visibility });
  await stack.upload(
    'p.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([{ clientKey: `${name}/1/${name}`, blobPath: 'f.txt' }]),
      },
      { name: 'f.txt', data: `file of ${name}` },
    ]),
    name,
  );
  await stack.indexed('p.zip', name);
  return `/F/${name}/symbols/${name}/1/${name}`;
}

/** Polls until `target` answers `expected`; the milliseconds it took, or a failure after 15 s. */
async function untilStatus(target: string, expected: number, since: number): Promise<number> {
  const deadline = since + 15_000;
  let last = 0;
  while (Date.now() < deadline) {
    last = await status(target);
    if (last === expected) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${target} still answered ${last}, not ${expected}, 15 s after the change`);
}

describe('on the instance that makes the change', () => {
  it('refuses anonymous reads and listings at once when a feed is made private', async () => {
    const file = await feedWithFile('vis');
    const listings = ['/F/vis/api/v2/Packages()', '/F/vis/api/v3/index.json'];
    // Read first, so that everything this instance remembers about the feed says public.
    expect(await status(here(file))).toBe(200);
    for (const listing of listings) expect(await status(here(listing))).toBe(200);

    expect(await manage(stack.host.url, 'PUT', 'feeds/vis', { visibility: 'private' })).toEqual({
      status: 200,
      text: expect.stringContaining('"private"') as unknown,
    });
    expect(await status(here(file))).toBe(401);
    for (const listing of listings) expect(await status(here(listing))).toBe(401);
  });

  it("stops an aggregate's token reading a member at once when the member is removed", async () => {
    const file = await feedWithFile('member-a', 'private');
    await createFeed(stack.rt.storage.feedsTable, { name: 'member-b', visibility: 'private' });
    await createFeed(stack.rt.storage.feedsTable, {
      name: 'agg',
      visibility: 'private',
      members: ['member-a', 'member-b'],
    });
    const { token } = await createToken(stack.rt.storage.tokensTable, {
      feed: 'agg',
      scopes: ['read'],
    });
    const throughAggregate = here(`/F/agg/auth/${token}/symbols/member-a/1/member-a`);
    expect(await status(here(file))).toBe(401);
    expect(await status(throughAggregate)).toBe(200);

    expect(
      (await manage(stack.host.url, 'PUT', 'feeds/agg', { members: ['member-b'] })).status,
    ).toBe(200);
    expect(await status(throughAggregate)).toBe(404);
  });

  it('refuses a token revoked through the admin API at once, and a deleted feed', async () => {
    const file = await feedWithFile('revoked', 'private');
    const { token, info } = await createToken(stack.rt.storage.tokensTable, {
      feed: 'revoked',
      scopes: ['read'],
    });
    const withToken = here(file.replace('/symbols/', `/auth/${token}/symbols/`));
    expect(await status(withToken)).toBe(200);
    expect((await manage(stack.host.url, 'DELETE', `tokens/${info.id}`)).status).toBe(200);
    expect(await status(withToken)).toBe(401);

    const other = await feedWithFile('going');
    expect(await status(here(other))).toBe(200);
    expect((await manage(stack.host.url, 'DELETE', 'feeds/going')).status).toBe(204);
    expect(await status(here(other))).toBe(404);
  });
});

describe('on other instances', () => {
  it('refuses within 5 s a feed made private by the CLI, another process', async () => {
    const file = await feedWithFile('cli-vis');
    expect(await status(here(file))).toBe(200);
    await promisify(execFile)(
      process.execPath,
      [path.join(dist, 'cli/symfeed.js'), 'feed', 'update', 'cli-vis', '--private'],
      {
        env: { PATH: process.env.PATH ?? '', AzureWebJobsStorage: stack.azurite.connectionString },
      },
    );
    const changed = Date.now();
    expect(await untilStatus(here(file), 401, changed)).toBeLessThanOrEqual(
      OTHER_INSTANCE_BOUND_MS + POLL_SLACK_MS,
    );
  });

  it('refuses within 5 s a token revoked by the CLI, which this host remembered as valid', async () => {
    const file = await feedWithFile('cli-revoke', 'private');
    const { token, info } = await createToken(stack.rt.storage.tokensTable, {
      feed: 'cli-revoke',
      scopes: ['read'],
    });
    const withToken = here(file.replace('/symbols/', `/auth/${token}/symbols/`));
    expect(await status(withToken)).toBe(200);
    await promisify(execFile)(
      process.execPath,
      [path.join(dist, 'cli/symfeed.js'), 'token', 'revoke', info.id],
      {
        env: { PATH: process.env.PATH ?? '', AzureWebJobsStorage: stack.azurite.connectionString },
      },
    );
    const changed = Date.now();
    expect(await untilStatus(withToken, 401, changed)).toBeLessThanOrEqual(
      OTHER_INSTANCE_BOUND_MS + POLL_SLACK_MS,
    );
  });

  it('refuses within 5 s on one host a feed made private through the admin API of another', async () => {
    const file = await feedWithFile('two-hosts');
    second = await startSecondHost();
    const there = (pathAndQuery: string) => url(second?.url ?? '', pathAndQuery);
    expect(await status(here(file))).toBe(200);
    expect(await status(there(file))).toBe(200);

    expect(
      (await manage(second.url, 'PUT', 'feeds/two-hosts', { visibility: 'private' })).status,
    ).toBe(200);
    const changed = Date.now();
    expect(await status(there(file))).toBe(401);
    expect(await untilStatus(here(file), 401, changed)).toBeLessThanOrEqual(
      OTHER_INSTANCE_BOUND_MS + POLL_SLACK_MS,
    );
  });
});

async function startSecondHost(): Promise<NonNullable<typeof second>> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(dist, 'local/start.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      AzureWebJobsStorage: stack.azurite.connectionString,
      PORT: String(port),
      SYMFEED_ADMIN_TOKEN: ADMIN_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const exit = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGINT');
      throw new Error(`the second host did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url: `http://localhost:${port}`, exit };
}

describe('shared caches', () => {
  it('revalidate public files on every use, and are refused once the feed is private', async () => {
    const file = await feedWithFile('cached');
    const first = await fetch(here(file));
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, no-cache');
    const etag = first.headers.get('etag') ?? '';
    expect(await status(here(file), { 'If-None-Match': etag })).toBe(304);

    expect(
      (await manage(stack.host.url, 'PUT', 'feeds/cached', { visibility: 'private' })).status,
    ).toBe(200);
    // What a shared cache holding the file asks before serving it again.
    expect(await status(here(file), { 'If-None-Match': etag })).toBe(401);
  });

  it('are told not to store files of private feeds, and to revalidate them', async () => {
    const file = await feedWithFile('kept-private', 'private');
    const { token } = await createToken(stack.rt.storage.tokensTable, {
      feed: 'kept-private',
      scopes: ['read'],
    });
    const response = await fetch(here(file), { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
  });
});
