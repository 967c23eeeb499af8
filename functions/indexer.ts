import { InvocationContext } from '@azure/functions';
import { packageEventOf } from '../shared/indexing/blobEvent';
import { recordIndexingGivenUp } from '../shared/indexing/givenUp';
import { indexPackage, IndexOutcome } from '../shared/indexing/indexPackage';
import { PackageNotFoundError, requestDelete } from '../shared/packages/deletePackage';
import { packageUidFor } from '../shared/packages/packageUid';
import { Runtime, runtime } from '../shared/runtime';
import { countedIndexRun } from '../shared/telemetry/observe';
import { CONTAINERS, QUEUES } from '../shared/storage/clients';
import { FunctionDefinition } from './definition';
import { attemptOf, isLastAttempt, rejectMessage } from './queueTrigger';

/**
 * Takes the storage account's blob events from the queue Event Grid delivers them to. A queue,
 * not a webhook: Event Grid waits about 30 s for a webhook's answer and then delivers again, so a
 * package that takes longer would be indexed twice at once; a queue message stays invisible for
 * as long as its run lasts. BlobCreated indexes the package by name with symfeed's own ranged
 * reader (no blob binding, so the package never passes through the trigger into memory);
 * BlobDeleted, a package removed straight from storage, asks for its delete like any other.
 */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  const event = packageEventOf(message);
  const rt = runtime();
  switch (event.kind) {
    case 'malformed':
      return rejectMessage(rt.storage.queues, QUEUES.packageEvents, message, event.reason, context);
    case 'ignored':
      context.warn(`indexer: ignored: ${event.reason}`);
      return;
    case 'deleted':
      return blobDeleted(rt, event.feed, event.name, context);
    case 'created':
      return blobCreated(rt, event.feed, event.name, context);
  }
}

async function blobCreated(rt: Runtime, feed: string, name: string, context: InvocationContext) {
  try {
    const outcome = await countedIndexRun(feed, () =>
      indexPackage(
        {
          storage: rt.storage,
          settings: rt.settings,
          keysChanged: (changedFeed, keys) => rt.locations.invalidate(changedFeed, keys),
        },
        feed,
        name,
      ),
    );
    context.log(`indexer: ${feed}/${name}: ${describe(outcome)}`);
  } catch (error) {
    if (isLastAttempt(context)) {
      const reason = `indexing failed ${attemptOf(context)} times and was given up: ${(error as Error).message}; upload the package again to index it again`;
      if (await recordIndexingGivenUp(rt.storage, feed, name, reason)) {
        context.error(`indexer: ${feed}/${name}: ${reason}`);
      }
    }
    throw error;
  }
}

async function blobDeleted(rt: Runtime, feed: string, name: string, context: InvocationContext) {
  // Event Grid keeps no order, and a retried message comes late: a blob uploaded again since it
  // was deleted is a package to keep.
  if (await rt.storage.packagesContainer.getBlobClient(`${feed}/${name}`).exists()) {
    context.log(`indexer: ${feed}/${name} deleted, and uploaded again since: kept`);
    return;
  }
  const message = {
    feed,
    packageUid: packageUidFor(feed, name),
    reason: 'the package blob was deleted from storage',
  };
  try {
    const outcome = await requestDelete(
      { storage: rt.storage, hidePackage: (f, uid) => rt.locations.hidePackage(f, uid) },
      message,
    );
    context.log(`indexer: ${feed}/${name} deleted: ${outcome}`);
  } catch (error) {
    if (!(error instanceof PackageNotFoundError)) throw error;
  }
}

/** One line a person can act on: what the package is, how it ended, and why when it is damaged. */
function describe(outcome: IndexOutcome): string {
  switch (outcome.kind) {
    case 'unchanged':
      return `unchanged since it was indexed (package ${outcome.packageUid}, ${outcome.state})`;
    case 'deleting':
      return `being deleted, so not indexed (package ${outcome.packageUid})`;
    case 'gone':
      return 'gone before it was read, so nothing to index';
    case 'superseded':
      return `indexed by another run of the same content (package ${outcome.packageUid})`;
  }
  const { id, version, pushedName, state, keys, reason, packageUid } = outcome;
  const what = [`${id} ${version}`.trim(), pushedName && `pushed as "${pushedName}"`]
    .filter(Boolean)
    .join(', ');
  return `${what} (package ${packageUid}): ${state}, ${keys} keys${reason ? `: ${reason}` : ''}`;
}

export const indexer: FunctionDefinition = {
  kind: 'queue',
  name: 'indexer',
  options: { queueName: QUEUES.packageEvents, connection: 'AzureWebJobsStorage', handler },
  blobEventsOf: CONTAINERS.packages,
};
