import { InvocationContext } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { queueHostSettings } from '../shared/config/hostJson';

/** The host's attempt at the message being handled: 1 the first time. */
export function attemptOf(context: InvocationContext): number {
  return Number(context.triggerMetadata?.dequeueCount ?? 1);
}

/** When this attempt fails, the host gives the message up (host.json maxDequeueCount). */
export function isLastAttempt(context: InvocationContext): boolean {
  return attemptOf(context) >= queueHostSettings().maxDequeueCount;
}

/**
 * A message no retry can mend goes to the poison queue at once, with the reason beside it, rather
 * than failing maxDequeueCount times first. The host reads poison queues as base64 too.
 */
export async function rejectMessage(
  queues: QueueServiceClient,
  queueName: string,
  message: unknown,
  reason: string,
  context: InvocationContext,
): Promise<void> {
  await queues
    .getQueueClient(`${queueName}-poison`)
    .sendMessage(Buffer.from(JSON.stringify({ message, reason })).toString('base64'));
  context.warn(`${context.functionName}: malformed message moved to the poison queue: ${reason}`);
}
