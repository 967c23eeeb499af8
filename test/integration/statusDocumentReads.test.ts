import {
  readStatusDocument,
  statusDocumentOf,
  writeStatusDocument,
} from '../../shared/packages/statusDocument';
import { startStack, Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

/**
 * A status document is rewritten while others read it (the indexer's runs, the admin API, a
 * delete). A read must see one version whole: never the first bytes of a longer new version cut
 * to the length of the old one.
 */
it('reads a document being rewritten as one version, whole', async () => {
  const container = stack.rt.storage.statusContainer;
  const version = (errors: number) =>
    statusDocumentOf(
      {
        feed: 'default',
        packageUid: 'a'.repeat(32),
        name: 'rewritten.zip',
        id: 'rewritten',
        version: '1.0.0',
        owner: '',
        uploadedAt: new Date(0).toISOString(),
        blobEtag: '"e"',
        size: 1,
        state: 'succeeded',
        stateChangedAt: new Date(0).toISOString(),
        firstIndexedAt: 0,
      },
      {},
      {
        history: [],
        keys: [],
        errors: Array.from({ length: errors }, (_, i) => `problem ${i} of a document this long`),
        warnings: [],
      },
    );
  await writeStatusDocument(container, version(1));
  const counts = new Set<number>();
  for (let round = 0; round < 60; round++) {
    const writes = Promise.all(
      [40, 1, 80, 2].map((errors) => writeStatusDocument(container, version(errors))),
    );
    const reads = await Promise.all(
      Array.from({ length: 8 }, () => readStatusDocument(container, 'default', 'a'.repeat(32))),
    );
    await writes;
    for (const doc of reads) counts.add(doc?.errors.length ?? -1);
  }
  expect([...counts].every((n) => [1, 2, 40, 80].includes(n))).toBe(true);
});
