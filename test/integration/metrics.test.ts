import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { startStack, Stack } from '../support/stack';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * Real requests, indexing, a NuGet push and a delete through the local host, then GET /metrics:
 * every count is what was done, in Prometheus text format.
 */
let stack: Stack;
let readToken: string;
let otherFeedToken: string;
let pushToken: string;

const FILE = Buffer.from('symbol bytes\n'.repeat(40));
const PRIVATE_FILE = Buffer.from('private symbol bytes\n'.repeat(10));

beforeAll(async () => {
  stack = await startStack();
  const feeds = stack.rt.storage.feedsTable;
  await ensureFeed(feeds, { name: 'priv', visibility: 'private' });
  await ensureFeed(feeds, { name: 'other', visibility: 'private' });
  const tokens = stack.rt.storage.tokensTable;
  ({ token: readToken } = await createToken(tokens, { feed: 'priv', scopes: ['read'] }));
  ({ token: otherFeedToken } = await createToken(tokens, { feed: 'other', scopes: ['read'] }));
  ({ token: pushToken } = await createToken(tokens, {
    feed: 'default',
    scopes: ['push', 'delete'],
  }));
  await stack.upload(
    'public.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([
          { clientKey: 'file.pdb/abc/file.pdb', blobPath: 'file.pdb' },
          { clientKey: 'second-key', blobPath: 'file.pdb' },
        ]),
      },
      { name: 'file.pdb', data: FILE, compress: true },
    ]),
  );
  await stack.upload(
    'private.zip',
    await makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([{ clientKey: 'secret.pdb/def/secret.pdb', blobPath: 'secret.pdb' }]),
      },
      { name: 'secret.pdb', data: PRIVATE_FILE },
    ]),
    'priv',
  );
  await stack.indexed('public.zip');
  await stack.indexed('private.zip', 'priv');
});
afterAll(() => stack?.stop());

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${stack.host.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const samples = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
  return { text, samples };
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Runs the host's triggers until the metrics show `done`, for at most 30 s. */
async function scrapeUntil(done: (samples: Sample[]) => boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const scraped = await scrape();
    if (done(scraped.samples) || Date.now() > deadline) return scraped;
    await stack.host.drain();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Identity bytes, so that the bytes counted are the files' own (a gzip answer counts its own). */
async function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${stack.host.url}${path}`, {
    headers: { 'Accept-Encoding': 'identity', ...headers },
  });
  await response.arrayBuffer();
  return response.status;
}

function pushBody(nupkg: Buffer): { body: Buffer; type: string } {
  const boundary = 'metricsboundary';
  return {
    body: Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n`,
      ),
      nupkg,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

it('counts symbol requests, index runs, pushes and deletes at GET /metrics', async () => {
  const symbols = '/F/default/symbols';
  // Two hits of a small file: the first reads storage, the second answers from memory.
  expect(await get(`${symbols}/file.pdb/abc/file.pdb`)).toBe(200);
  expect(await get(`${symbols}/file.pdb/abc/file.pdb`)).toBe(200);
  expect(await get(`${symbols}/nothing.pdb/abc/nothing.pdb`)).toBe(404);
  expect(await get(`${symbols}/bad%01key`)).toBe(400);
  expect(await get('/F/priv/symbols/secret.pdb/def/secret.pdb')).toBe(401);
  expect(
    await get('/F/priv/symbols/secret.pdb/def/secret.pdb', {
      Authorization: `Bearer ${otherFeedToken}`,
    }),
  ).toBe(403);
  expect(await get(`/F/priv/auth/${readToken}/symbols/secret.pdb/def/secret.pdb`)).toBe(200);
  // Feeds that do not exist: whatever name a caller sends, one series.
  for (const name of ['made-up-1', 'made-up-2', 'made-up-3']) {
    expect(await get(`/F/${name}/symbols/x.pdb/abc/x.pdb`)).toBe(404);
  }
  expect(await get(`/F/default/buildid/${'ab'.repeat(20)}/debuginfo`)).toBe(404);

  const nupkg = await makeZip([
    {
      name: 'Counted.nuspec',
      data: '<?xml version="1.0"?><package><metadata><id>Counted</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>',
    },
  ]);
  const push = (headers: Record<string, string>) => {
    const { body, type } = pushBody(nupkg);
    return fetch(`${stack.host.url}/F/default/api/v2/package`, {
      method: 'PUT',
      headers: { 'Content-Type': type, ...headers },
      body: new Uint8Array(body),
    });
  };
  expect((await push({})).status).toBe(401);
  expect((await push({ 'X-NuGet-ApiKey': pushToken })).status).toBe(202);
  await scrapeUntil((samples) => total(samples, 'symfeed_index_runs_total') >= 3);
  const deleted = await fetch(`${stack.host.url}/F/default/api/v2/package/Counted/1.0.0`, {
    method: 'DELETE',
    headers: { 'X-NuGet-ApiKey': pushToken },
  });
  expect(deleted.status).toBe(202);
  const { text, samples } = await scrapeUntil(
    (samples) => total(samples, 'symfeed_deletes_total') > 0,
  );

  const requests = 'symfeed_symbol_requests_total';
  const ssqp = { route: 'ssqp' };
  expect(
    total(samples, requests, { ...ssqp, feed: 'default', outcome: 'hit', cache: 'cold' }),
  ).toBe(1);
  expect(total(samples, requests, { ...ssqp, feed: 'default', outcome: 'hit', cache: 'hot' })).toBe(
    1,
  );
  expect(total(samples, requests, { ...ssqp, feed: 'default', outcome: 'miss' })).toBe(1);
  expect(total(samples, requests, { ...ssqp, outcome: 'bad_request' })).toBe(1);
  expect(total(samples, requests, { ...ssqp, feed: 'priv', outcome: 'unauthorized' })).toBe(1);
  expect(total(samples, requests, { ...ssqp, feed: 'priv', outcome: 'forbidden' })).toBe(1);
  expect(total(samples, requests, { ...ssqp, feed: 'priv', outcome: 'hit' })).toBe(1);
  expect(total(samples, requests, { ...ssqp, feed: '_unknown', outcome: 'miss' })).toBe(3);
  expect(text).not.toContain('made-up');
  expect(total(samples, requests, { route: 'debuginfod', outcome: 'miss' })).toBe(1);
  expect(text).toContain(
    'symfeed_symbol_requests_total{feed="default",route="ssqp",outcome="hit",cache="cold"} 1',
  );

  // Time to first byte: one observation per hit and miss.
  expect(total(samples, 'symfeed_symbol_ttfb_count', { outcome: 'hit' })).toBe(3);
  expect(total(samples, 'symfeed_symbol_ttfb_count', { outcome: 'miss' })).toBe(5);
  expect(total(samples, 'symfeed_symbol_bytes_total', { feed: 'default' })).toBe(2 * FILE.length);
  expect(total(samples, 'symfeed_symbol_bytes_total', { feed: 'priv' })).toBe(PRIVATE_FILE.length);

  expect(total(samples, 'symfeed_index_runs_total', { outcome: 'succeeded' })).toBe(3);
  expect(total(samples, 'symfeed_index_duration_count', { outcome: 'succeeded' })).toBe(3);
  expect(total(samples, 'symfeed_index_keys_total', { outcome: 'succeeded' })).toBe(3);
  // By the feed of each package: public.zip and the pushed Counted in default, private.zip in priv.
  const runs = (feed: string) =>
    total(samples, 'symfeed_index_runs_total', { feed, outcome: 'succeeded' });
  expect([runs('default'), runs('priv')]).toEqual([2, 1]);
  expect(total(samples, 'symfeed_index_keys_total', { feed: 'default' })).toBe(2);
  expect(total(samples, 'symfeed_index_keys_total', { feed: 'priv' })).toBe(1);
  expect(total(samples, 'symfeed_nuget_pushes_total', { outcome: 'accepted' })).toBe(1);
  expect(total(samples, 'symfeed_nuget_pushes_total', { outcome: 'unauthorized' })).toBe(1);
  expect(total(samples, 'symfeed_deletes_total', { feed: 'default', outcome: 'deleted' })).toBe(1);
});

it('counts storage outages as unavailable and logs each failed answer with its cause', async () => {
  await stack.azurite.stop();
  expect(await get('/F/default/symbols/file.pdb/abc/nothing-cached.pdb')).toBe(503);
  const { samples } = await scrape();
  expect(
    total(samples, 'symfeed_symbol_requests_total', { feed: 'default', outcome: 'unavailable' }),
  ).toBe(1);
  const failures = stack.logs
    .map((line) => /^\w+ \[error\] (\{.*\})$/.exec(line)?.[1])
    .filter((json): json is string => json !== undefined)
    .map((json) => JSON.parse(json) as Record<string, unknown>)
    .filter((entry) => entry.event === 'symfeed.failed_answer');
  expect(failures).toEqual([
    expect.objectContaining({
      function: 'symbols',
      method: 'GET',
      path: '/F/default/symbols/file.pdb/abc/nothing-cached.pdb',
      status: 503,
      cause: expect.stringMatching(/^storage: /),
    }),
  ]);
});
