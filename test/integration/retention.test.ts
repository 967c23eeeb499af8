import { InvocationContext, Timer } from '@azure/functions';
import { retention } from '../../functions/retention';
import { CliError, Output } from '../../cli/output';
import { retentionCommand } from '../../cli/retentionCommand';
import { createFeed, updateFeed } from '../../shared/feeds/feedTable';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { runRetention } from '../../shared/packages/retention';
import { readStatusDocument } from '../../shared/packages/statusDocument';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

const FEED = 'retained';
const DAY = 24 * 60 * 60 * 1000;

let stack: Stack;

/** The packages of FEED, oldest first: uploaded and indexed one after another. */
const PACKAGES = [
  { id: 'Foo', version: '1.0.0' },
  { id: 'Foo', version: '1.1.0' },
  { id: 'Foo', version: '1.2.0' },
  { id: 'Bar', version: '2.0.0-beta' },
  { id: 'Bar', version: '2.0.0' },
] as const;
type Package = (typeof PACKAGES)[number];

const blobName = (p: Package) => `${p.id}.${p.version}.nupkg`;
const uid = (p: Package) => packageUidFor(FEED, blobName(p));
const key = (p: Package) => `retention-${p.id}-${p.version}`.toLowerCase();
const [foo100, foo110, foo120, barBeta, bar200] = PACKAGES;

function nupkg(p: Package): Promise<Buffer> {
  return makeZip([
    {
      name: `${p.id}.nuspec`,
      data: `<?xml version="1.0"?><package><metadata><id>${p.id}</id><version>${p.version}</version></metadata></package>`,
    },
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key(p), blobPath: 'f.txt' }]) },
    { name: 'f.txt', data: `content of ${p.id} ${p.version}` },
  ]);
}

const state = async (p: Package) =>
  (await getPackageRow(stack.rt.storage.packagesTable, FEED, uid(p)))?.state;
const states = async () => Promise.all(PACKAGES.map(state));
const status = async (p: Package) =>
  (await fetch(`${stack.host.url}/F/${FEED}/symbols/${key(p)}`)).status;

/** The reason recorded when the package's delete was asked for. */
async function queuedBecause(p: Package) {
  const doc = await readStatusDocument(stack.rt.storage.statusContainer, FEED, uid(p));
  return doc?.history.find((change) => change.state === 'deletingqueued')?.reason;
}

/** Drains the deletes queue until every package given is deleted. */
async function untilDeleted(packages: readonly Package[]) {
  const deadline = Date.now() + 30_000;
  const done = async () => (await Promise.all(packages.map(state))).every((s) => s === 'deleted');
  while (!(await done()) && Date.now() < deadline) await stack.host.drain();
  expect(await Promise.all(packages.map(state))).toEqual(packages.map(() => 'deleted'));
}

function capture(): { out: Output; lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return {
    out: {
      line: (t) => lines.push(t),
      note: (t) => warnings.push(t),
      warn: (t) => warnings.push(t),
    },
    lines,
    warnings,
  };
}

beforeAll(async () => {
  // Nothing cached: every GET shows what the tables hold right now.
  stack = await startStack({
    SYMFEED_LOCATION_CACHE_SECONDS: '0',
    SYMFEED_MISS_CACHE_SECONDS: '0',
  });
  await createFeed(stack.rt.storage.feedsTable, {
    name: FEED,
    visibility: 'public',
    retention: { keepLatestPerId: 2, maxAgeDays: 30, prereleaseOnly: true },
  });
  for (const p of PACKAGES) {
    await stack.upload(blobName(p), await nupkg(p), FEED);
    await stack.indexed(blobName(p), FEED);
  }
});
afterAll(() => stack?.stop());

it('reads id and version from the .nuspec and serves every package before retention runs', async () => {
  const row = await getPackageRow(stack.rt.storage.packagesTable, FEED, uid(barBeta));
  expect(row).toMatchObject({ id: 'Bar', version: '2.0.0-beta', state: 'succeeded' });
  expect(await Promise.all(PACKAGES.map(status))).toEqual(PACKAGES.map(() => 200));
});

it('plans on a dry run and changes nothing', async () => {
  const today = await runRetention(stack.rt.storage, FEED, { dryRun: true });
  expect(today.map((d) => [d.packageUid, d.reason])).toEqual([
    [uid(foo100), 'beyond the newest 2 uploads of Foo'],
  ]);

  const later = await runRetention(stack.rt.storage, FEED, {
    dryRun: true,
    now: new Date(Date.now() + 31 * DAY),
  });
  expect(later).toEqual([
    {
      packageUid: uid(foo100),
      name: blobName(foo100),
      id: 'Foo',
      version: '1.0.0',
      reason: 'beyond the newest 2 uploads of Foo',
    },
    {
      packageUid: uid(barBeta),
      name: blobName(barBeta),
      id: 'Bar',
      version: '2.0.0-beta',
      reason: 'older than 30 days (prerelease)',
    },
  ]);

  await stack.host.drain();
  expect(await states()).toEqual(PACKAGES.map(() => 'succeeded'));
  expect((await stack.rt.storage.deletesQueue.peekMessages()).peekedMessageItems).toEqual([]);
  expect(await Promise.all(PACKAGES.map(status))).toEqual(PACKAGES.map(() => 200));
});

it('prints the plan from the command line, dry, and says what is wrong with a feed', async () => {
  const { out, lines, warnings } = capture();
  expect(await retentionCommand(FEED, { dryRun: true }, out)).toBe(0);
  expect(lines).toEqual([`${uid(foo100)}\tFoo 1.0.0\tbeyond the newest 2 uploads of Foo`]);
  expect(warnings).toEqual([
    `(dry run) retention would delete 1 package of feed "${FEED}"; nothing was changed`,
  ]);
  expect(await state(foo100)).toBe('succeeded');

  await expect(retentionCommand('no-such-feed', { dryRun: true }, out)).rejects.toThrow(
    new CliError('feed "no-such-feed" does not exist'),
  );
  await expect(retentionCommand('Bad Feed', { dryRun: true }, out)).rejects.toThrow(
    /"Bad Feed" is not a feed name: a feed name is 1-63 lower-case/,
  );
});

it('queues exactly the planned packages, whose keys then 404 while the rest still serve', async () => {
  const now = new Date(Date.now() + 31 * DAY);
  const plan = await runRetention(stack.rt.storage, FEED, { dryRun: false, now });
  expect(plan.map((d) => d.packageUid)).toEqual([uid(foo100), uid(barBeta)]);
  // The host's queue poller may already be deleting them; the others are untouched.
  expect(await states()).toEqual([
    expect.stringMatching(/^delet/),
    'succeeded',
    'succeeded',
    expect.stringMatching(/^delet/),
    'succeeded',
  ]);
  await untilDeleted([foo100, barBeta]);
  expect(await states()).toEqual(['deleted', 'succeeded', 'succeeded', 'deleted', 'succeeded']);
  expect(await Promise.all(PACKAGES.map(status))).toEqual([404, 200, 200, 404, 200]);
  expect(await queuedBecause(foo100)).toBe('retention: beyond the newest 2 uploads of Foo');
  expect(await queuedBecause(barBeta)).toBe('retention: older than 30 days (prerelease)');
  for (const p of [foo100, barBeta]) {
    const blob = stack.rt.storage.packagesContainer.getBlobClient(`${FEED}/${blobName(p)}`);
    expect(await blob.exists()).toBe(false);
  }

  // The policy is met now: running again plans nothing.
  expect(await runRetention(stack.rt.storage, FEED, { dryRun: false, now })).toEqual([]);
});

it('applies every policy from the timer, skipping aggregates and going on past a broken feed', async () => {
  // Only the two newest of Foo 1.1.0, Foo 1.2.0 and Bar 2.0.0 may stay.
  await updateFeed(stack.rt.storage.feedsTable, FEED, { retention: { maxPackages: 2 } });
  // An aggregate has no packages of its own: its policy must not reach its members'.
  await createFeed(stack.rt.storage.feedsTable, {
    name: 'aggregate',
    members: [FEED],
    retention: { maxPackages: 1 },
  });
  // A feed listed before FEED whose packages cannot be read.
  await createFeed(stack.rt.storage.feedsTable, {
    name: 'a-broken',
    retention: { maxPackages: 1 },
  });
  await stack.rt.storage.packagesTable.createEntity({
    partitionKey: 'a-broken',
    rowKey: '0'.repeat(32),
    name: 'x.zip',
  });

  const logs: string[] = [];
  const context = new InvocationContext({
    functionName: 'retention',
    invocationId: 'test',
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
  const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '', next: '', lastUpdated: '' },
  };
  await retention.options.handler(timer, context);

  await untilDeleted([foo110]);
  expect(await queuedBecause(foo110)).toBe("retention: beyond the feed's 2 newest packages");
  expect(await states()).toEqual(['deleted', 'deleted', 'succeeded', 'deleted', 'succeeded']);
  expect(await Promise.all([foo120, bar200].map(status))).toEqual([200, 200]);
  expect(await status(foo110)).toBe(404);

  expect(logs).toEqual([
    expect.stringMatching(/^error: retention: a-broken: failed: /),
    `information: retention: ${FEED}: delete queued for ${uid(foo110)} Foo 1.1.0: beyond the feed's 2 newest packages`,
    `information: retention: ${FEED}: 1 package(s) queued for deletion`,
  ]);
});
