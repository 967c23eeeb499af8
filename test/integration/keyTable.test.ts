import { RestError, TableClient } from '@azure/data-tables';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import {
  deleteKeyRows,
  findLocation,
  KeyRowOwner,
  writeKeyRows,
} from '../../shared/index/keyTable';
import { KeyRecord, KeySource } from '../../shared/index/location';
import { keyDigest } from '../../shared/keys/clientKey';

/**
 * The key table on real storage: a winner row per key that stays the best candidate whatever
 * order indexers and deleters run in, and rows that go in as transactions where they can.
 */
let azurite: RunningAzurite;
let table: TableClient;

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  table = TableClient.fromConnectionString(azurite.connectionString, 'keytabletest', {
    allowInsecureConnection: true,
  });
  await table.createTable();
}, 60_000);

afterAll(async () => {
  await azurite.stop();
});

let feedCount = 0;
/** Each test in its own feed: its own partitions of the one table. */
function newFeed(): string {
  feedCount += 1;
  return `feed${feedCount}`;
}

function owner(feed: string, name: string, firstIndexedAt: number): KeyRowOwner {
  return { feed, packageUid: name.padEnd(32, '0'), firstIndexedAt };
}

function holder(pkg: KeyRowOwner, source: KeySource = 'explicit') {
  return {
    packageUid: pkg.packageUid,
    blob: `${pkg.feed}/${pkg.packageUid.slice(0, 8)}.zip`,
    source,
  };
}

function record(key: string, pkg: KeyRowOwner, source: KeySource = 'explicit'): KeyRecord {
  return {
    key,
    clientKey: key,
    source,
    location: {
      packageUid: pkg.packageUid,
      blob: `${pkg.feed}/${pkg.packageUid.slice(0, 8)}.zip`,
      blobEtag: '"0x1"',
      entry: `${key}.bin`,
      dataOffset: 30,
      compressedSize: 4,
      size: 4,
      method: 0,
      crc32: 0,
    },
  };
}

async function servedBy(feed: string, key: string): Promise<string | undefined> {
  return (await findLocation(table, feed, key))?.blob;
}

/** Every row of a feed: a test may scan, symfeed never does. */
async function rowsOf(feed: string): Promise<{ rowKey: string; packageUid: string }[]> {
  const rows = [];
  for await (const row of table.listEntities<{ packageUid: string }>()) {
    if (row.partitionKey?.startsWith(`${feed}_`))
      rows.push({ rowKey: row.rowKey ?? '', packageUid: row.packageUid });
  }
  return rows;
}

it('writes a candidate and a winner row per key, and serves each key with a point read', async () => {
  const feed = newFeed();
  const a = owner(feed, 'aaaa', 1);
  const keys = Array.from({ length: 250 }, (_, i) => `key-${i}`);
  expect(
    await writeKeyRows(
      table,
      a,
      keys.map((key) => record(key, a)),
    ),
  ).toEqual({ lost: [], taken: [] });
  const rows = await rowsOf(feed);
  expect(rows).toHaveLength(500);
  expect(rows.filter((row) => !row.rowKey.includes('_'))).toHaveLength(250);
  for (const key of keys) expect(await servedBy(feed, key)).toBe(`${feed}/aaaa0000.zip`);
  expect(await findLocation(table, feed, 'key-250')).toBeUndefined();
  // Another feed's keys are not this feed's.
  expect(await findLocation(table, newFeed(), 'key-1')).toBeUndefined();
});

it('lets the earlier package win a shared key, and tells the later one which package serves it', async () => {
  const feed = newFeed();
  const early = owner(feed, 'early', 100);
  const late = owner(feed, 'late', 200);
  // The later package is written first: precedence is by first indexing, not by write order.
  const shared = Array.from({ length: 60 }, (_, i) => `shared-${i}`);
  await writeKeyRows(
    table,
    late,
    [...shared, 'late-only'].map((key) => record(key, late)),
  );
  const lostByEarly = await writeKeyRows(
    table,
    early,
    [...shared, 'early-only'].map((key) => record(key, early)),
  );
  // The earlier package takes the shared keys over, and is told from which package.
  expect(lostByEarly).toEqual({
    lost: [],
    taken: shared.map((key) => ({
      key,
      source: 'explicit',
      from: holder(late),
      others: [],
    })),
  });
  for (const key of shared) expect(await servedBy(feed, key)).toBe(`${feed}/early000.zip`);
  expect(await servedBy(feed, 'late-only')).toBe(`${feed}/late0000.zip`);

  // Written again (a re-run), the later package learns what it loses, in its own key order.
  const lostByLate = await writeKeyRows(
    table,
    late,
    [...shared, 'late-only'].map((key) => record(key, late)),
  );
  expect(lostByLate).toEqual({
    lost: shared.map((key) => ({ key, source: 'explicit', winner: holder(early) })),
    taken: [],
  });
});

it('puts an explicit mapping before a derived key, even of a package indexed earlier', async () => {
  const feed = newFeed();
  const derived = owner(feed, 'derived', 1);
  const explicit = owner(feed, 'explicit', 2);
  await writeKeyRows(table, derived, [record('k', derived, 'derived')]);
  expect(await writeKeyRows(table, explicit, [record('k', explicit, 'explicit')])).toEqual({
    lost: [],
    taken: [{ key: 'k', source: 'explicit', from: holder(derived, 'derived'), others: [] }],
  });
  expect(await servedBy(feed, 'k')).toBe(`${feed}/explicit.zip`);
  expect(await writeKeyRows(table, derived, [record('k', derived, 'derived')])).toEqual({
    lost: [{ key: 'k', source: 'derived', winner: holder(explicit) }],
    taken: [],
  });
});

it('keeps a package that offers one key twice (explicit and derived) to its explicit row', async () => {
  const feed = newFeed();
  const pkg = owner(feed, 'twice', 1);
  const lost = await writeKeyRows(table, pkg, [
    record('dup', pkg, 'derived'),
    record('dup', pkg, 'explicit'),
  ]);
  expect(lost).toEqual({ lost: [], taken: [] });
  expect((await findLocation(table, feed, 'dup'))?.source).toBe('explicit');
  await deleteKeyRows(table, pkg, [{ key: 'dup', source: 'explicit' }]);
  expect((await findLocation(table, feed, 'dup'))?.source).toBe('derived');
});

it('hands a deleted winner’s keys to the next candidate, and removes keys nobody else offers', async () => {
  const feed = newFeed();
  const [first, second, third] = [1, 2, 3].map((n) => owner(feed, `p${n}`, n)) as [
    KeyRowOwner,
    KeyRowOwner,
    KeyRowOwner,
  ];
  await writeKeyRows(table, third, [record('shared', third)]);
  await writeKeyRows(table, first, [record('shared', first), record('mine', first)]);
  await writeKeyRows(table, second, [record('shared', second)]);
  expect(await servedBy(feed, 'shared')).toBe(`${feed}/p1000000.zip`);

  // Deleting a candidate that does not win changes nothing that is served; the winner is named.
  expect(await deleteKeyRows(table, second, [{ key: 'shared', source: 'explicit' }])).toEqual([
    { key: 'shared', winner: holder(first), handedOver: false, others: [] },
  ]);
  expect(await servedBy(feed, 'shared')).toBe(`${feed}/p1000000.zip`);
  // The next candidate takes over a deleted winner's key; a key nobody else offers says nothing.
  expect(
    await deleteKeyRows(table, first, [
      { key: 'shared', source: 'explicit' },
      { key: 'mine', source: 'explicit' },
    ]),
  ).toEqual([{ key: 'shared', winner: holder(third), handedOver: true, others: [] }]);
  expect(await servedBy(feed, 'shared')).toBe(`${feed}/p3000000.zip`);
  expect(await servedBy(feed, 'mine')).toBeUndefined();
  // A delete running again finds its rows gone and is content.
  await deleteKeyRows(table, first, [
    { key: 'shared', source: 'explicit' },
    { key: 'mine', source: 'explicit' },
  ]);
  expect(await servedBy(feed, 'shared')).toBe(`${feed}/p3000000.zip`);
  await deleteKeyRows(table, third, [{ key: 'shared', source: 'explicit' }]);
  expect(await servedBy(feed, 'shared')).toBeUndefined();
  expect(await rowsOf(feed)).toEqual([]);
});

it('carries a small file’s data in its rows: the winner brings it, a successor its own', async () => {
  const feed = newFeed();
  const [first, second, old] = [1, 2, 3].map((n) => owner(feed, `q${n}`, n)) as [
    KeyRowOwner,
    KeyRowOwner,
    KeyRowOwner,
  ];
  const data = (text: string) => new Map([[30, Buffer.from(text)]]);
  await writeKeyRows(table, second, [record('shared', second)], data('second'));
  await writeKeyRows(table, first, [record('shared', first)], data('first'));
  expect((await findLocation(table, feed, 'shared'))?.inline?.toString()).toBe('first');
  // Hidden (being deleted here), the winner is passed over for the next candidate's own data.
  const hidden = (uid: string) => uid === first.packageUid;
  expect((await findLocation(table, feed, 'shared', hidden))?.inline?.toString()).toBe('second');
  await deleteKeyRows(table, first, [{ key: 'shared', source: 'explicit' }]);
  expect((await findLocation(table, feed, 'shared'))?.inline?.toString()).toBe('second');
  // Rows without data (larger files, or written before it existed) give the location alone.
  await writeKeyRows(table, old, [record('older', old)]);
  const found = await findLocation(table, feed, 'older');
  expect(found?.blob).toBe(`${feed}/q3000000.zip`);
  expect(found).not.toHaveProperty('inline');
});

it('writes, serves and deletes keys whose rows hold 60 KiB each, many to one partition', async () => {
  const feed = newFeed();
  const pkg = owner(feed, 'large', 1);
  // Keys of one partition: a transaction holds only one partition's rows.
  const keys: string[] = [];
  for (let i = 0; keys.length < 60; i++) {
    if (keyDigest(`large-${i}`).startsWith('00')) keys.push(`large-${i}`);
  }
  const records = keys.map((key, i) => ({
    ...record(key, pkg),
    location: { ...record(key, pkg).location, dataOffset: i },
  }));
  const data = new Map(keys.map((_, i) => [i, Buffer.alloc(60 * 1024, i)]));
  await writeKeyRows(table, pkg, records, data);
  for (const [i, key] of keys.entries()) {
    // Buffer.equals: jest's toEqual takes a second for 60 KiB.
    const found = await findLocation(table, feed, key);
    expect(found?.inline?.equals(Buffer.alloc(60 * 1024, i))).toBe(true);
  }
  expect(
    await deleteKeyRows(
      table,
      pkg,
      keys.map((key) => ({ key, source: 'explicit' })),
    ),
  ).toEqual([]);
  expect(await rowsOf(feed)).toEqual([]);
});

it('serves the best candidate when many packages index the same keys at once', async () => {
  const feed = newFeed();
  const keys = Array.from({ length: 20 }, (_, i) => `race-${i}`);
  const packages = Array.from({ length: 8 }, (_, n) => owner(feed, `r${n}`, 1000 - n));
  await Promise.all(
    packages.map((pkg) =>
      writeKeyRows(
        table,
        pkg,
        keys.map((key) => record(key, pkg)),
      ),
    ),
  );
  // r7 was first indexed earliest (stamp 993).
  for (const key of keys) expect(await servedBy(feed, key)).toBe(`${feed}/r7000000.zip`);
});

it('never leaves a key unserved or served by a deleted package when deletes race indexing', async () => {
  for (let round = 0; round < 5; round++) {
    const feed = newFeed();
    const keys = Array.from({ length: 10 }, (_, i) => `k-${i}`);
    const refs = keys.map((key) => ({ key, source: 'explicit' as const }));
    const [a, b, c] = [1, 2, 3].map((n) => owner(feed, `d${n}`, n)) as [
      KeyRowOwner,
      KeyRowOwner,
      KeyRowOwner,
    ];
    await writeKeyRows(
      table,
      a,
      keys.map((key) => record(key, a)),
    );
    await writeKeyRows(
      table,
      b,
      keys.map((key) => record(key, b)),
    );
    // a and b leave while c arrives: only c may be left serving.
    await Promise.all([
      deleteKeyRows(table, a, refs),
      deleteKeyRows(table, b, refs),
      writeKeyRows(
        table,
        c,
        keys.map((key) => record(key, c)),
      ),
    ]);
    for (const key of keys) expect(await servedBy(feed, key)).toBe(`${feed}/d3000000.zip`);
  }
});

it('fails with the storage error, not silently, when the table is missing', async () => {
  const missing = TableClient.fromConnectionString(azurite.connectionString, 'nosuchtable', {
    allowInsecureConnection: true,
  });
  const pkg = owner('f', 'x', 1);
  await expect(writeKeyRows(missing, pkg, [record('k', pkg)])).rejects.toMatchObject({
    statusCode: 404,
  });
});

/** Keys whose digests share a partition: one transaction's worth of them. */
function keysInOnePartition(count: number): string[] {
  const byPrefix = new Map<string, string[]>();
  for (let i = 0; ; i++) {
    const key = `same-partition-${i}`;
    const prefix = keyDigest(key).slice(0, 2);
    const list = byPrefix.get(prefix) ?? [];
    list.push(key);
    byPrefix.set(prefix, list);
    if (list.length === count) return list;
  }
}

it('writes a transaction whose keys partly belong to another package, key by key where they do', async () => {
  const feed = newFeed();
  const keys = keysInOnePartition(12);
  const first = owner(feed, 'first', 1);
  const second = owner(feed, 'second', 2);
  // Every other key is taken already: more conflicts than one transaction retries one by one.
  const taken = keys.filter((_, i) => i % 2 === 0);
  await writeKeyRows(
    table,
    first,
    taken.map((key) => record(key, first)),
  );
  const lost = await writeKeyRows(
    table,
    second,
    keys.map((key) => record(key, second)),
  );
  expect(lost.lost.map((l) => l.key)).toEqual(taken);
  for (const key of keys) {
    expect(await servedBy(feed, key)).toBe(
      taken.includes(key) ? `${feed}/first000.zip` : `${feed}/second00.zip`,
    );
  }
});

it('gives up with an error naming the key digest when its winner row never stops changing', async () => {
  const feed = newFeed();
  const a = owner(feed, 'busy-a', 1);
  const b = owner(feed, 'busy-b', 2);
  await writeKeyRows(table, a, [record('busy', a)]);
  // Another writer rewrites the winner row between every read and write of this one.
  const busy = new Proxy(table, {
    get(target, property, receiver) {
      if (property !== 'getEntity') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<TableClient['getEntity']>) => {
        const entity = await target.getEntity(...args);
        await target.updateEntity({ partitionKey: args[0], rowKey: args[1] }, 'Merge');
        return entity;
      };
    },
  });
  await expect(writeKeyRows(busy, b, [record('busy', b)])).rejects.toThrow(
    `the winner row of key digest ${keyDigest('busy')} kept changing under 10 attempts`,
  );
  // Nothing is lost: the row that was there still serves.
  expect(await servedBy(feed, 'busy')).toBe(`${feed}/busy-a00.zip`);
});

/**
 * The real table with its single-row writes and transactions counted; with `reword`, a failed
 * transaction's error comes without the "1:" storage puts before its message (fault injection:
 * the service's wording cannot be changed for real, so the one client method is wrapped).
 */
function counted(reword: boolean) {
  const calls = { submitTransaction: 0, upsertEntity: 0 };
  const client = new Proxy(table, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'upsertEntity') {
        return (...args: Parameters<TableClient['upsertEntity']>) => {
          calls.upsertEntity += 1;
          return target.upsertEntity(...args);
        };
      }
      if (property !== 'submitTransaction') return value;
      return async (...args: Parameters<TableClient['submitTransaction']>) => {
        calls.submitTransaction += 1;
        try {
          return await target.submitTransaction(...args);
        } catch (error) {
          if (!reword || !(error instanceof RestError) || !error.response) throw error;
          const unnumbered = (text: string) =>
            text.replace(/^\d+:/, '').replace(/"value":"\d+:/, '"value":"');
          throw new RestError(unnumbered(error.message), {
            code: error.code,
            statusCode: error.statusCode,
            request: error.request,
            response: {
              ...error.response,
              bodyAsText: unnumbered(error.response.bodyAsText ?? ''),
            },
          });
        }
      };
    },
  });
  return { client, calls };
}

it.each([
  ['as storage words it', false],
  ['whatever the wording of the storage error', true],
])(
  'writes the other keys of a transaction with one taken key in one more transaction, %s',
  async (_, reword) => {
    const feed = newFeed();
    const keys = keysInOnePartition(12);
    const first = owner(feed, 'first', 1);
    const second = owner(feed, 'second', 2);
    await writeKeyRows(table, first, [record(keys[5]!, first)]);
    const { client, calls } = counted(reword);
    const lost = await writeKeyRows(
      client,
      second,
      keys.map((key) => record(key, second)),
    );
    expect(lost.lost.map((l) => l.key)).toEqual([keys[5]]);
    // One transaction refused, one that writes the eleven others; only the taken key alone.
    expect(calls).toEqual({ submitTransaction: 2, upsertEntity: 1 });
    for (const key of keys) {
      expect(await servedBy(feed, key)).toBe(
        key === keys[5] ? `${feed}/first000.zip` : `${feed}/second00.zip`,
      );
    }
  },
);

/** The real table with every call that reaches storage counted by method. */
function countedCalls() {
  const calls: Record<string, number> = {};
  const client = new Proxy(table, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        calls[property] = (calls[property] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client, calls };
}

it('deletes a package’s rows with a point read per key, a range read where another package offers it, and per-partition transactions', async () => {
  const feed = newFeed();
  const winner = owner(feed, 'big-win', 1);
  const runnerUp = owner(feed, 'big-run', 2);
  const keys = Array.from({ length: 120 }, (_, i) => `del-${i}`);
  const shared = keys.filter((_, i) => i % 3 === 0);
  await writeKeyRows(
    table,
    winner,
    keys.map((key) => record(key, winner)),
  );
  await writeKeyRows(
    table,
    runnerUp,
    shared.map((key) => record(key, runnerUp)),
  );
  const { client, calls } = countedCalls();
  await deleteKeyRows(
    client,
    winner,
    keys.map((key) => ({ key, source: 'explicit' })),
  );
  // Candidates go and winners move to the runner-up in transactions; only the winner rows no
  // candidate is left for go one by one (storage takes no conditional delete in a transaction).
  expect(calls).toEqual({
    getEntity: keys.length,
    listEntities: shared.length,
    submitTransaction: expect.any(Number),
    deleteEntity: keys.length - shared.length,
  });
  // One transaction per partition the keys fall in.
  expect(calls.submitTransaction).toBe(new Set(keys.map((key) => keyDigest(key).slice(0, 2))).size);
  for (const key of keys) {
    expect(await servedBy(feed, key)).toBe(
      shared.includes(key) ? `${feed}/big-run0.zip` : undefined,
    );
  }
  expect((await rowsOf(feed)).every((row) => row.packageUid === runnerUp.packageUid)).toBe(true);
  expect(await rowsOf(feed)).toHaveLength(shared.length * 2);
});

it('finishes a delete that stopped between its transaction and the removal of a winner row', async () => {
  const feed = newFeed();
  const a = owner(feed, 'stop-a', 1);
  const b = owner(feed, 'stop-b', 2);
  await writeKeyRows(table, a, [record('left', a)]);
  // As if the process died after the transaction: the single-row delete never happens.
  const dying = new Proxy(table, {
    get(target, property, receiver) {
      if (property === 'deleteEntity') return async () => Promise.reject(new Error('process died'));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  await expect(deleteKeyRows(dying, a, [{ key: 'left', source: 'explicit' }])).rejects.toThrow(
    'process died',
  );
  // Whatever is left of the key serves nothing, and takes a new candidate as if it were absent.
  expect(await servedBy(feed, 'left')).toBeUndefined();
  await deleteKeyRows(table, a, [{ key: 'left', source: 'explicit' }]);
  expect(await rowsOf(feed)).toEqual([]);
  await writeKeyRows(table, a, [record('left', a)]);
  await deleteKeyRows(dying, a, [{ key: 'left', source: 'explicit' }]).catch(() => undefined);
  expect(await writeKeyRows(table, b, [record('left', b)])).toEqual({ lost: [], taken: [] });
  expect(await servedBy(feed, 'left')).toBe(`${feed}/stop-b00.zip`);
});
