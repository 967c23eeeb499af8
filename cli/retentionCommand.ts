import { feedNameSchema } from '../shared/feeds/feedName';
import { FeedError } from '../shared/feeds/feedTable';
import { runRetention } from '../shared/packages/retention';
import { CliError, Output } from './output';
import { cliStorage } from './storage';

/**
 * `symfeed retention run <feed> [--dry-run]`: one "uid<TAB>id version<TAB>why" line per package
 * that goes, and a summary on standard error so the lines stay easy to pipe.
 */
export async function retentionCommand(
  feed: string,
  options: { dryRun: boolean },
  out: Output,
): Promise<number> {
  const name = feedNameSchema.safeParse(feed);
  if (!name.success) {
    throw new CliError(`"${feed}" is not a feed name: ${name.error.issues[0]?.message ?? ''}`);
  }
  const plan = await runRetention(await cliStorage(), name.data, options).catch(
    (error: unknown) => {
      throw error instanceof FeedError ? new CliError(error.message) : error;
    },
  );
  for (const { packageUid, id, version, reason } of plan) {
    // A package named by its file alone has no version.
    out.line(`${packageUid}\t${`${id} ${version}`.trimEnd()}\t${reason}`);
  }
  const count = `${plan.length} package${plan.length === 1 ? '' : 's'}`;
  out.note(
    options.dryRun
      ? `(dry run) retention would delete ${count} of feed "${name.data}"; nothing was changed`
      : `retention queued ${count} of feed "${name.data}" for deletion`,
  );
  return 0;
}
