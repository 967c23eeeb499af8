import { packageStatus } from '../../shared/admin/manage';
import { requestDelete } from '../../shared/packages/deletePackage';
import { getPackageRow } from '../../shared/packages/packageTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { readStatusDocument } from '../../shared/packages/statusDocument';
import { MiB, peakRss, resetPeakRss } from '../support/memory';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';
import yauzl from 'yauzl';

/**
 * A package whose symbol_index.json maps 55,000 keys of about 1 KB each (57 MB of JSON in a
 * 310 KB zip), as issue 10 found it: indexing it stalled a hot file for 16.7 s and left a 135 MB
 * status document, and 24 anonymous downloads of that document as a nupkg killed the host.
 */
const KEYS = 55_000;
const BIG = 'Big.Keys.1.0.0.zip';
const HOT = 'hot/1/hot';
const hotBytes = Buffer.from('a small file served from memory\n');

let stack: Stack;
const uid = (name: string) => packageUidFor('default', name);
const keyOf = (i: number, prefix = 'k') => `${prefix}${i}/${'x'.repeat(1000)}/f.pdb`;

beforeAll(async () => {
  stack = await startStack();
  await stack.upload(
    'hot.zip',
    await makeZip([
      { name: 'symbol_index.json', data: JSON.stringify([{ clientKey: HOT, blobPath: 'h.txt' }]) },
      { name: 'h.txt', data: hotBytes },
    ]),
  );
  await stack.indexed('hot.zip');
  expect(Buffer.from(await (await fetch(`${stack.symbols}/${HOT}`)).arrayBuffer())).toEqual(
    hotBytes,
  );
});
afterAll(() => stack?.stop());

/** Mappings of `count` keys of ~1 KB to one small file, as a zip. */
function manyKeys(count: number, prefix?: string): Promise<Buffer> {
  const mappings = Array.from({ length: count }, (_, i) => ({
    clientKey: keyOf(i, prefix),
    blobPath: 'f.pdb',
  }));
  return makeZip([
    { name: 'symbol_index.json', data: JSON.stringify(mappings) },
    { name: 'f.pdb', data: 'the file every key maps to' },
  ]);
}

/**
 * Asks for a URL every `intervalMs` and keeps the worst time from when a request was due to its
 * answer: a stalled event loop delays the timer too, so the stall is counted either way.
 */
function probe(url: string, intervalMs: number) {
  let stopped = false;
  let worst = 0;
  let requests = 0;
  const failures: string[] = [];
  const running = (async () => {
    let due = Date.now();
    while (!stopped) {
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        const response = await fetch(url);
        const body = Buffer.from(await response.arrayBuffer());
        if (response.status !== 200 || !body.equals(hotBytes)) failures.push(`${response.status}`);
      } catch (error) {
        failures.push(String((error as Error).cause ?? error));
      }
      requests += 1;
      worst = Math.max(worst, Date.now() - due);
      due = Math.max(due + intervalMs, Date.now());
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return { worst, requests, failures };
    },
  };
}

async function until(name: string, wanted: string) {
  const deadline = Date.now() + 300_000;
  let state: string | undefined;
  while (Date.now() < deadline) {
    state = (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid(name)))?.state;
    if (state === wanted) return;
    await stack.host.drain();
  }
  throw new Error(`package ${name} is ${state}, not ${wanted}, after 300 s`);
}

function unzip(bytes: Buffer): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const files = new Map<string, string>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, async (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          files.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
          zip.readEntry();
        });
      });
      zip.on('end', () => resolve(files));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

interface Displayed {
  state: string;
  keyCount?: number;
  keys: unknown[];
  fullList?: string;
  omitted?: string;
}

describe('a symbol_index.json of 55,000 keys of 1 KB', () => {
  it('indexes while a hot file in memory keeps answering within 1 s', async () => {
    const bytes = await manyKeys(KEYS);
    const hot = probe(`${stack.symbols}/${HOT}`, 50);
    await stack.upload(BIG, bytes);
    await until(BIG, 'succeeded');
    const { worst, requests, failures } = await hot.stop();
    expect(worst).toBeLessThan(1_000);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(10);
    for (const i of [0, KEYS / 2, KEYS - 1]) {
      expect((await fetch(`${stack.symbols}/${keyOf(i)}`)).status).toBe(200);
    }
  }, 300_000);

  it('keeps a bounded status document, and the full key list beside it', async () => {
    const blob = stack.rt.storage.statusContainer.getBlobClient(`default/${uid(BIG)}.json`);
    expect((await blob.getProperties()).contentLength).toBeLessThan(2 * MiB);
    const shown = (await packageStatus(
      stack.rt.storage,
      'default',
      uid(BIG),
    )) as unknown as Displayed;
    expect(shown.state).toBe('succeeded');
    expect(shown.keyCount).toBe(KEYS);
    expect(shown.keys.length).toBeGreaterThan(100);
    expect(shown.keys.length).toBeLessThan(KEYS);
    expect(shown.fullList).toBe(`status/default/${uid(BIG)}.keys.json`);
    expect(shown.omitted).toBe(
      `Lists stop at 1 MiB of JSON and messages at 2,000 characters: this document holds the first ${shown.keys.length} of 55,000 keys. The full lists are in status/default/${uid(BIG)}.keys.json.`,
    );
    const full = await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid(BIG));
    expect(full?.keys.map((record) => record.clientKey)).toEqual(
      Array.from({ length: KEYS }, (_, i) => keyOf(i)).sort(),
    );
  });

  it('answers 24 concurrent anonymous downloads of its status nupkg in bounded memory', async () => {
    const flat = `${stack.host.url}/F/default/api/v3/flatcontainer/big.keys`;
    const { versions } = (await (await fetch(`${flat}/index.json`)).json()) as {
      versions: string[];
    };
    const version = versions[0] ?? '';
    const url = `${flat}/${version}/big.keys.${version}.nupkg`;
    const before = resetPeakRss();
    const sizes = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        let size = 0;
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          size += read.value.length;
        }
        return size;
      }),
    );
    const growth = peakRss() - before;
    expect(Math.round(growth / MiB)).toBeLessThan(128);
    expect(new Set(sizes).size).toBe(1);
    const files = await unzip(Buffer.from(await (await fetch(url)).arrayBuffer()));
    const status = JSON.parse(files.get('status.json') ?? '{}') as Displayed;
    expect(status).toMatchObject({ state: 'succeeded', keyCount: KEYS });
  });
});

describe('a package whose status document lists only part of its keys', () => {
  it('is deleted whole: every key goes, found in the full list', async () => {
    const name = 'listed-in-part.zip';
    const count = 3_000;
    await stack.upload(name, await manyKeys(count, 'part'));
    await stack.indexed(name);
    const shown = (await packageStatus(
      stack.rt.storage,
      'default',
      uid(name),
    )) as unknown as Displayed;
    expect(shown.keys.length).toBeLessThan(count);
    expect(shown.fullList).toBe(`status/default/${uid(name)}.keys.json`);
    expect(
      await requestDelete(
        { storage: stack.rt.storage },
        {
          feed: 'default',
          packageUid: uid(name),
          reason: 'test of a delete from the full list',
        },
      ),
    ).toBe('queued');
    await until(name, 'deleted');
    for (const i of [0, 1, count / 2, count - 2, count - 1]) {
      expect((await fetch(`${stack.symbols}/${keyOf(i, 'part')}`)).status).toBe(404);
    }
    expect((await fetch(`${stack.symbols}/${HOT}`)).status).toBe(200);
  });
});

describe('lists over 1 MiB in a status document', () => {
  it('errors: the first that fit, long ones cut short, all of them in the full list', async () => {
    const name = 'many-errors.zip';
    const long = `${'y'.repeat(3_000)}/f.pdb`;
    const mappings = [
      { clientKey: long, blobPath: 'f.pdb' },
      ...Array.from({ length: 1_200 }, (_, i) => ({
        clientKey: keyOf(i, 'error'),
        blobPath: 'gone.pdb',
      })),
      { clientKey: 'served', blobPath: 'f.pdb' },
    ];
    await stack.upload(
      name,
      await makeZip([
        { name: 'symbol_index.json', data: JSON.stringify(mappings) },
        { name: 'f.pdb', data: 'f' },
      ]),
    );
    const full = await stack.indexed(name);
    expect(full.state).toBe('partial');
    expect(full.errors).toHaveLength(1_201);
    expect(full.errors[0]).toBe(
      `key "${long}" is skipped: the key is 3006 characters long; the limit is 1024`,
    );
    const shown = (await packageStatus(stack.rt.storage, 'default', uid(name))) as unknown as {
      keys: unknown[];
      keyCount: number;
      errors: string[];
      errorCount: number;
      omitted: string;
    };
    expect(shown).toMatchObject({ keyCount: 1, errorCount: 1_201 });
    expect(shown.keys).toHaveLength(1);
    expect(shown.errors.length).toBeGreaterThan(800);
    expect(shown.errors.length).toBeLessThan(1_201);
    expect(shown.errors[0]).toBe(`${full.errors[0]!.slice(0, 2_000)}... (3075 characters in all)`);
    expect(shown.errors.slice(1)).toEqual(full.errors.slice(1, shown.errors.length));
    expect(shown.omitted).toBe(
      `Lists stop at 1 MiB of JSON and messages at 2,000 characters: this document holds the first ${shown.errors.length} of 1,201 errors, 1 message cut short. The full lists are in status/default/${uid(name)}.keys.json.`,
    );
  });

  it('hand-overs and their warnings: a package that loses 3,000 keys to another', async () => {
    const count = 3_000;
    await stack.upload('first-of-two.zip', await manyKeys(count, 'twice'));
    await stack.indexed('first-of-two.zip');
    await stack.upload('second-of-two.zip', await manyKeys(count, 'twice'));
    const full = await stack.indexed('second-of-two.zip');
    expect(full.handovers).toHaveLength(count);
    expect(full.warnings).toHaveLength(count);
    const shown = (await packageStatus(
      stack.rt.storage,
      'default',
      uid('second-of-two.zip'),
    )) as unknown as Displayed & { handovers: unknown[]; warnings: string[]; warningCount: number };
    expect(shown.warningCount).toBe(count);
    expect(shown.handovers.length).toBeLessThan(count);
    expect(shown.warnings.length).toBeLessThan(count);
    expect(shown.handovers).toEqual(full.handovers?.slice(0, shown.handovers.length));
    expect(shown.omitted).toMatch(
      new RegExp(
        `the first ${shown.warnings.length} of 3,000 warnings, the first ${shown.handovers.length} of 3,000 hand-overs`,
      ),
    );
  });
});

describe('a status document written by an earlier version', () => {
  it('lists its keys inline, however many, and a delete still finds them all', async () => {
    const name = 'legacy.zip';
    const count = 3_000;
    await stack.upload(name, await manyKeys(count, 'legacy'));
    const doc = await stack.indexed(name);
    // What earlier versions wrote: the whole document, keys inline, no companion list.
    const firstIndexedAt = new Date(doc.firstIndexedAt).toISOString();
    const legacy = JSON.stringify({ ...doc, firstIndexedAt, keys: doc.keys }, null, 2);
    await stack.rt.storage.statusContainer
      .getBlockBlobClient(`default/${uid(name)}.json`)
      .upload(legacy, Buffer.byteLength(legacy));
    await stack.rt.storage.statusContainer
      .getBlobClient(`default/${uid(name)}.keys.json`)
      .deleteIfExists();
    expect((await fetch(`${stack.symbols}/${keyOf(count - 1, 'legacy')}`)).status).toBe(200);
    const reread = await readStatusDocument(stack.rt.storage.statusContainer, 'default', uid(name));
    expect(reread?.keys).toHaveLength(count);

    await requestDelete(
      { storage: stack.rt.storage },
      {
        feed: 'default',
        packageUid: uid(name),
        reason: 'test of a legacy delete',
      },
    );
    await until(name, 'deleted');
    for (const i of [0, count / 2, count - 1]) {
      expect((await fetch(`${stack.symbols}/${keyOf(i, 'legacy')}`)).status).toBe(404);
    }
  });
});
