import { InvocationContext } from '@azure/functions';
import { deleteMessageSchema, deletePackage, recordState } from '../shared/packages/deletePackage';
import { runtime } from '../shared/runtime';
import { recordDelete, UNKNOWN_FEED } from '../shared/telemetry/metrics';
import { countedDelete } from '../shared/telemetry/observe';
import { QUEUES } from '../shared/storage/clients';
import { describeIssues } from '../shared/util/issues';
import { FunctionDefinition } from './definition';
import { attemptOf, isLastAttempt, rejectMessage } from './queueTrigger';

async function handler(message: unknown, context: InvocationContext): Promise<void> {
  const rt = runtime();
  const parsed = deleteMessageSchema.safeParse(message);
  if (!parsed.success) {
    const reason = describeIssues(parsed.error);
    await rejectMessage(rt.storage.queues, QUEUES.deletes, message, reason, context);
    recordDelete(UNKNOWN_FEED, 'malformed');
    return;
  }
  try {
    const outcome = await countedDelete(parsed.data.feed, () =>
      deletePackage(
        {
          storage: rt.storage,
          keysChanged: (feed, keys) => rt.locations.invalidate(feed, keys),
          hidePackage: (feed, packageUid) => rt.locations.hidePackage(feed, packageUid),
        },
        parsed.data,
      ),
    );
    const from = parsed.data.from === undefined ? '' : ` (from key ${parsed.data.from})`;
    context.log(`deleter: ${parsed.data.feed}/${parsed.data.packageUid}${from}: ${outcome}`);
  } catch (error) {
    if (isLastAttempt(context)) {
      await recordState(
        rt.storage,
        parsed.data.feed,
        parsed.data.packageUid,
        'partial',
        `the delete failed ${attemptOf(context)} times and was given up: ${(error as Error).message}`,
      );
    }
    throw error;
  }
}

export const deleter: FunctionDefinition = {
  kind: 'queue',
  name: 'deleter',
  options: { queueName: QUEUES.deletes, connection: 'AzureWebJobsStorage', handler },
};
