import { InvocationContext } from '@azure/functions';
import { deleteMessageSchema, deletePackage, recordState } from '../shared/packages/deletePackage';
import { runtime } from '../shared/runtime';
import { recordDelete } from '../shared/telemetry/metrics';
import { countedDelete } from '../shared/telemetry/observe';
import { QUEUES } from '../shared/storage/clients';
import { FunctionDefinition } from './definition';

/** host.json extensions.queues.maxDequeueCount: the attempt after which the host gives up. */
const MAX_DEQUEUE_COUNT = 5;

async function handler(message: unknown, context: InvocationContext): Promise<void> {
  const rt = runtime();
  const parsed = deleteMessageSchema.safeParse(message);
  if (!parsed.success) {
    // Retrying cannot mend a malformed message: straight to the poison queue, with the reason.
    const reason = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`)
      .join('; ');
    await rt.storage.queues
      .getQueueClient(`${QUEUES.deletes}-poison`)
      .sendMessage(Buffer.from(JSON.stringify({ message, reason })).toString('base64'));
    context.warn(`deleter: malformed message moved to the poison queue: ${reason}`);
    recordDelete('malformed');
    return;
  }
  try {
    const outcome = await countedDelete(() =>
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
    const attempt = Number(context.triggerMetadata?.dequeueCount ?? 1);
    if (attempt >= MAX_DEQUEUE_COUNT) {
      await recordState(
        rt.storage,
        parsed.data.feed,
        parsed.data.packageUid,
        'partial',
        `the delete failed ${attempt} times and was given up: ${(error as Error).message}`,
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
