import { InvocationContext, Timer } from '@azure/functions';
import { listFeeds } from '../shared/feeds/feedTable';
import { runMirror } from '../shared/mirror/followCatalog';
import { runtime } from '../shared/runtime';
import { DefinitionOf } from './definition';

/**
 * A backlog is worked off in runs of this length, far under the Functions timeout (5 minutes on
 * the Consumption plan); the next minute's run resumes at the cursor.
 */
const RUN_MS = 3 * 60_000;

async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { storage } = runtime();
  const mirrors = (await listFeeds(storage.feedsTable)).filter((feed) => feed.mirror);
  for (const feed of mirrors) {
    // One source down must not hold the other mirrors back; the next run resumes at the cursor.
    try {
      const run = await runMirror({ storage }, feed, { stopAt: Date.now() + RUN_MS });
      context.log(
        `mirror: ${feed.name}: copied ${run.copied}, deleted ${run.deleted}, skipped ${run.skipped}, cursor ${run.cursor || '-'}${run.more ? ', more next run' : ''}`,
      );
    } catch (error) {
      context.error(`mirror: ${feed.name}: failed: ${(error as Error).message}`);
    }
  }
}

/** Every minute: a mirror trails its source by about that much. */
export const mirror: DefinitionOf<'timer'> = {
  kind: 'timer',
  name: 'mirror',
  options: { schedule: '0 * * * * *', handler },
};
