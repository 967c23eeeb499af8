import { authorize, Credentials, hasScope, identify, TokenLookup } from '../feeds/access';
import { FeedCache } from '../feeds/feedCache';
import { Feed } from '../feeds/feedTable';
import { Scope } from '../feeds/tokens';
import { Subfeed } from './subfeed';

/** What deciding access to a subfeed reads: the feed's settings and its tokens. */
export interface SubfeedAccessPorts {
  readonly feeds: Pick<FeedCache, 'feed'>;
  readonly tokens: TokenLookup;
}

export type SubfeedAccess =
  | { ok: true; feed: Feed; owner?: string }
  | { ok: false; status: 401 | 403 | 404; message: string; challenge?: string };

/**
 * Who may see a subfeed: the plain feed, whoever may read the feed; an `own` subfeed, the holder
 * of any token of the feed, who sees the packages pushed by the token's owner; `all` with a state
 * other than succeeded, an admin of the feed. Writes (`push`, `delete`) need their scope besides.
 */
export async function authorizeSubfeed(
  { feeds, tokens }: SubfeedAccessPorts,
  subfeed: Subfeed,
  credentials: Credentials,
  scope: Scope = 'read',
): Promise<SubfeedAccess> {
  const feed = await feeds.feed(subfeed.feed);
  if (!feed) return { ok: false, status: 404, message: `Feed "${subfeed.feed}" does not exist.` };
  if (subfeed.ownership === 'own') {
    const who = await identify(tokens, feed, credentials);
    if (!who.ok) return who;
    if (scope !== 'read' && !hasScope(who.info, scope)) {
      return {
        ok: false,
        status: 403,
        message: `The token lacks the "${scope}" scope on feed "${feed.name}".`,
      };
    }
    return { ok: true, feed, owner: who.info.owner };
  }
  const decision = await authorize(tokens, feed, subfeed.plain ? scope : 'admin', credentials);
  if (!decision.ok) return decision;
  return decision.owner === undefined
    ? { ok: true, feed }
    : { ok: true, feed, owner: decision.owner };
}
