import { EventGridEvent, InvocationContext } from '@azure/functions';
import { packageBlobFromEvent } from '../shared/indexing/blobEvent';
import { indexPackage, IndexOutcome } from '../shared/indexing/indexPackage';
import { PackageNotFoundError, requestDelete } from '../shared/packages/deletePackage';
import { packageUidFor } from '../shared/packages/packageUid';
import { runtime } from '../shared/runtime';
import { countedIndexRun } from '../shared/telemetry/observe';
import { CONTAINERS } from '../shared/storage/clients';
import { FunctionDefinition } from './definition';

/**
 * Receives the storage account's blob events through Event Grid. BlobCreated indexes the package
 * by name with symfeed's own ranged reader (no blob binding, so the package bytes never pass
 * through the trigger into memory); BlobDeleted, a package removed straight from storage, asks
 * for its delete like any other.
 */
async function handler(event: EventGridEvent, context: InvocationContext): Promise<void> {
  const ref = packageBlobFromEvent(event);
  if (!ref.ok) {
    context.warn(`indexer: ignored: ${ref.reason}`);
    return;
  }
  const rt = runtime();
  if (ref.deleted) {
    const message = {
      feed: ref.feed,
      packageUid: packageUidFor(ref.feed, ref.name),
      reason: 'the package blob was deleted from storage',
    };
    try {
      context.log(
        `indexer: ${ref.feed}/${ref.name} deleted: ${await requestDelete(
          { storage: rt.storage, hidePackage: (feed, uid) => rt.locations.hidePackage(feed, uid) },
          message,
        )}`,
      );
    } catch (error) {
      if (!(error instanceof PackageNotFoundError)) throw error;
    }
    return;
  }
  const outcome = await countedIndexRun(() =>
    indexPackage(
      {
        storage: rt.storage,
        settings: rt.settings,
        keysChanged: (feed, keys) => rt.locations.invalidate(feed, keys),
      },
      ref.feed,
      ref.name,
    ),
  );
  context.log(`indexer: ${ref.feed}/${ref.name}: ${describe(outcome)}`);
}

/** One line a person can act on: what the package is, how it ended, and why when it is damaged. */
function describe(outcome: IndexOutcome): string {
  if (outcome.kind !== 'indexed') return JSON.stringify(outcome);
  const { id, version, pushedName, state, keys, reason, packageUid } = outcome;
  const what = [`${id} ${version}`.trim(), pushedName && `pushed as "${pushedName}"`]
    .filter(Boolean)
    .join(', ');
  return `${what} (package ${packageUid}): ${state}, ${keys} keys${reason ? `: ${reason}` : ''}`;
}

export const indexer: FunctionDefinition = {
  kind: 'blobEvents',
  name: 'indexer',
  container: CONTAINERS.packages,
  options: { handler },
};
