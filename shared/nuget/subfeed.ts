import { z } from 'zod';
import { feedNameSchema } from '../feeds/feedName';
import { PACKAGE_STATES, PackageState } from '../packages/states';

/**
 * SymbolSource's subfeeds: `{feed},{own|all},{state}` selects a feed's packages by who pushed
 * them and by state. The plain feed name is `{feed},all,succeeded` for whoever may read the feed.
 */
export interface Subfeed {
  readonly feed: string;
  readonly ownership: 'own' | 'all';
  readonly state: PackageState;
  /** The plain feed URL: every succeeded package, to every reader. */
  readonly plain: boolean;
}

const partsSchema = z.tuple([feedNameSchema, z.enum(['own', 'all']), z.enum(PACKAGE_STATES)]);

export type SubfeedParse = { ok: true; subfeed: Subfeed } | { ok: false; reason: string };

export function parseSubfeed(segment: string): SubfeedParse {
  const parts = segment.split(',');
  if (parts.length === 1) {
    const feed = feedNameSchema.safeParse(parts[0]);
    return feed.success
      ? {
          ok: true,
          subfeed: { feed: feed.data, ownership: 'all', state: 'succeeded', plain: true },
        }
      : { ok: false, reason: `"${segment}" is not a feed name` };
  }
  const parsed = partsSchema.safeParse(parts);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `"${segment}" is not {feed},{own|all},{state} with state one of ${PACKAGE_STATES.join(', ')}`,
    };
  }
  const [feed, ownership, state] = parsed.data;
  return {
    ok: true,
    subfeed: { feed, ownership, state, plain: ownership === 'all' && state === 'succeeded' },
  };
}
