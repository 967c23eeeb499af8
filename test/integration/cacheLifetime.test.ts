import { randomBytes } from 'node:crypto';
import { deletePackage } from '../../shared/packages/deletePackage';
import { packageUidFor } from '../../shared/packages/packageUid';
import { createRuntime } from '../../shared/runtime';
import { makeZip, symbolIndex } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * Caches never serve a deleted package's file beyond their documented lifetime: another
 * instance's delete shows within SYMFEED_LOCATION_CACHE_SECONDS (here 1 s), and at once for files
 * too large to be kept in memory, whose read finds the blob gone.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ SYMFEED_LOCATION_CACHE_SECONDS: '1' });
});
afterAll(() => stack?.stop());

const pkg = (key: string, content: Buffer | string) =>
  makeZip([
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: 'f.bin' }]) },
    { name: 'f.bin', data: content },
  ]);
const get = async (key: string) =>
  Buffer.from(await (await fetch(`${stack.symbols}/${key}`)).arrayBuffer());

async function twoCandidates(key: string, a: Buffer, b: Buffer) {
  await stack.upload(`${key}-a.zip`, await pkg(key, a));
  await stack.indexed(`${key}-a.zip`);
  await stack.upload(`${key}-b.zip`, await pkg(key, b));
  await stack.indexed(`${key}-b.zip`);
  expect(await get(key)).toEqual(a);
  // Another Functions instance, with its own memory, deletes the winner this one remembers.
  const other = createRuntime(stack.rt.settings);
  await deletePackage(
    { storage: other.storage },
    {
      feed: 'default',
      packageUid: packageUidFor('default', `${key}-a.zip`),
      reason: 'deleted elsewhere',
    },
  );
}

it('serves the next candidate of a small file once the location lifetime has passed', async () => {
  const [a, b] = [Buffer.from('small a'), Buffer.from('small b')];
  await twoCandidates('small', a, b);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect(await get('small')).toEqual(b);
});

it('serves the next candidate of a large file at once', async () => {
  const [a, b] = [randomBytes(200_000), randomBytes(200_000)];
  await twoCandidates('large', a, b);
  expect(await get('large')).toEqual(b);
});
