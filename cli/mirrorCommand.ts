import { feedNameSchema } from '../shared/feeds/feedName';
import { getFeed } from '../shared/feeds/feedTable';
import { runMirror } from '../shared/mirror/followCatalog';
import { MirrorError } from '../shared/mirror/mirrorSource';
import { CliError, Output } from './output';
import { cliStorage } from './storage';

/** `symfeed mirror run <feed> [--limit N]`: follows the source's catalog now, as the timer does. */
export async function mirrorCommand(
  feed: string,
  options: { limit?: number },
  out: Output,
): Promise<number> {
  const name = feedNameSchema.safeParse(feed);
  if (!name.success) {
    throw new CliError(`"${feed}" is not a feed name: ${name.error.issues[0]?.message ?? ''}`);
  }
  const storage = await cliStorage();
  const found = await getFeed(storage.feedsTable, name.data);
  if (!found) throw new CliError(`feed "${name.data}" does not exist`);
  const run = await runMirror({ storage }, found, options).catch((error: unknown) => {
    throw error instanceof MirrorError ? new CliError(error.message) : error;
  });
  out.line(
    `mirror "${name.data}": copied ${run.copied}, deleted ${run.deleted}, skipped ${run.skipped}, cursor ${run.cursor || '-'}${run.more ? ' (stopped at the limit; more to do)' : ''}`,
  );
  return 0;
}
