import { rebuildCatalog } from '../shared/catalog/rebuildCatalog';
import { feedNameSchema } from '../shared/feeds/feedName';
import { CliError, Output } from './output';
import { cliStorage } from './storage';

/** `symfeed catalog rebuild <feed>`: appends to the feed's catalog every package event it lacks. */
export async function catalogCommand(feed: string, out: Output): Promise<number> {
  const name = feedNameSchema.safeParse(feed);
  if (!name.success) {
    throw new CliError(`"${feed}" is not a feed name: ${name.error.issues[0]?.message ?? ''}`);
  }
  const { appended, present, skipped } = await rebuildCatalog(await cliStorage(), name.data);
  out.note(
    `catalog of feed "${name.data}": ${appended} appended, ${present} already there, ${skipped} changing now (their indexer or deleter appends them)`,
  );
  return 0;
}
