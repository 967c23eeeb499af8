import { InvocationContext, Timer } from '@azure/functions';
import { listFeeds } from '../shared/feeds/feedTable';
import { applyRetention, hasRetentionPolicy } from '../shared/packages/retention';
import { runtime } from '../shared/runtime';
import { DefinitionOf } from './definition';

async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { storage } = runtime();
  const feeds = (await listFeeds(storage.feedsTable)).filter(
    (feed) => feed.members.length === 0 && hasRetentionPolicy(feed.retention),
  );
  for (const feed of feeds) {
    // One feed's failure must not spare the others their retention; the next run retries it.
    try {
      const plan = await applyRetention(storage, feed, { dryRun: false });
      for (const { packageUid, id, version, reason } of plan) {
        context.log(
          `retention: ${feed.name}: delete queued for ${packageUid} ${id} ${version}: ${reason}`,
        );
      }
      context.log(`retention: ${feed.name}: ${plan.length} package(s) queued for deletion`);
    } catch (error) {
      context.error(`retention: ${feed.name}: failed: ${(error as Error).message}`);
    }
  }
}

/** Daily at 03:30 UTC, a quiet hour for most publishers. */
export const retention: DefinitionOf<'timer'> = {
  kind: 'timer',
  name: 'retention',
  options: { schedule: '0 30 3 * * *', handler },
};
