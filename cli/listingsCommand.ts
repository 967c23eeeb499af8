import { feedNameSchema } from '../shared/feeds/feedName';
import { rebuildFeedListings } from '../shared/listings/readListings';
import { CliError, Output } from './output';
import { cliStorage } from './storage';

/** `symfeed listings rebuild <feed>`: writes the feed's NuGet listings again from its table. */
export async function listingsCommand(feed: string, out: Output): Promise<number> {
  const name = feedNameSchema.safeParse(feed);
  if (!name.success) {
    throw new CliError(`"${feed}" is not a feed name: ${name.error.issues[0]?.message ?? ''}`);
  }
  const { ids, pages } = await rebuildFeedListings(await cliStorage(), name.data);
  out.note(`listings of feed "${name.data}": ${ids} ids in ${pages} index pages`);
  return 0;
}
