import { packageUidFor } from '../../shared/packages/packageUid';
import { getPackageRow } from '../../shared/packages/packageTable';
import { requestDelete } from '../../shared/packages/deletePackage';
import { CountedStack, startCountedStack } from '../support/countedStack';
import { COLD_SETTINGS, smallFiles, smallFilesPackage } from '../support/smallFiles';
import { makeZip, symbolIndex } from '../support/zips';

/**
 * Small files go into their key rows at index time: a cold request for one (no location or hot
 * file in memory) is one table read and no blob read. Blob reads are counted by a proxy in front
 * of Azurite's blob service, whatever client makes them. inlineFilesOff.test.ts: the setting at 0.
 */
let counted: CountedStack;
const get = (key: string) => counted.get(key);

beforeAll(async () => {
  counted = await startCountedStack(COLD_SETTINGS);
  await counted.stack.upload('small.zip', await smallFilesPackage());
  expect((await counted.stack.indexed('small.zip')).state).toBe('succeeded');
});
afterAll(() => counted?.stop());

it('serves a small file, deflated or stored, cold, with no blob read', async () => {
  for (const name of ['deflated.txt', 'stored.bin'] as const) {
    for (let time = 0; time < 2; time++) {
      expect(await get(`k-${name}`)).toEqual({ status: 200, body: smallFiles[name], blobReads: 0 });
    }
  }
});

it('reads a file just above the limit from its package', async () => {
  expect(await get('k-above.bin')).toEqual({
    status: 200,
    body: smallFiles['above.bin'],
    blobReads: 1,
  });
});

it('keeps the bytes out of the status document and its key list', async () => {
  const uid = packageUidFor('default', 'small.zip');
  const texts = [];
  for (const blob of [`default/${uid}.json`, `default/${uid}.keys.json`]) {
    const client = counted.stack.rt.storage.statusContainer.getBlobClient(blob);
    if (await client.exists()) texts.push((await client.downloadToBuffer()).toString());
  }
  expect(texts.length).toBeGreaterThan(0);
  for (const text of texts) {
    expect(text).toContain('k-stored.bin');
    expect(text).not.toContain('inline');
    expect(text).not.toContain(smallFiles['stored.bin'].toString('base64').slice(0, 40));
  }
});

it('serves a deleted winner’s successor from its own row', async () => {
  const { stack } = counted;
  const pkg = (content: string) =>
    makeZip([
      {
        name: 'symbol_index.json',
        data: symbolIndex([{ clientKey: 'shared', blobPath: 'f.txt' }]),
      },
      { name: 'f.txt', data: content },
    ]);
  await stack.upload('first.zip', await pkg('from the first'));
  await stack.indexed('first.zip');
  await stack.upload('second.zip', await pkg('from the second'));
  await stack.indexed('second.zip');
  expect((await get('shared')).body.toString()).toBe('from the first');

  const uid = packageUidFor('default', 'first.zip');
  await requestDelete(
    { storage: stack.rt.storage },
    { feed: 'default', packageUid: uid, reason: 'test' },
  );
  const state = async () =>
    (await getPackageRow(stack.rt.storage.packagesTable, 'default', uid))?.state;
  const deadline = Date.now() + 30_000;
  while ((await state()) !== 'deleted' && Date.now() < deadline) await stack.host.drain();
  expect(await state()).toBe('deleted');
  const served = await get('shared');
  expect({ ...served, body: served.body.toString() }).toEqual({
    status: 200,
    body: 'from the second',
    blobReads: 0,
  });
});

it('does not inline, and reports, a small file whose bytes fail their CRC-32', async () => {
  const good = Buffer.from('undamaged bytes of a small file');
  const zip = await makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex([
        { clientKey: 'damaged', blobPath: 'damaged.bin' },
        { clientKey: 'sound', blobPath: 'sound.bin' },
      ]),
    },
    { name: 'damaged.bin', data: good, compress: false },
    { name: 'sound.bin', data: 'sound', compress: false },
  ]);
  const at = zip.indexOf(good);
  zip.writeUInt8(zip.readUInt8(at) ^ 1, at);
  await counted.stack.upload('damaged.zip', zip);
  const doc = await counted.stack.indexed('damaged.zip');
  expect(doc.state).toBe('partial');
  expect(doc.errors).toEqual([
    expect.stringMatching(
      /^key "damaged" is skipped: the file "damaged.bin" is damaged: its CRC-32 is 0x[0-9a-f]{8}, not the 0x[0-9a-f]{8} its header declares$/,
    ),
  ]);
  expect((await get('damaged')).status).toBe(404);
  expect((await get('sound')).blobReads).toBe(0);
});
