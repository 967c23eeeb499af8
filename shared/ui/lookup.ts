import { FeedCache } from '../feeds/feedCache';
import { Feed, shownFeed, ShownUpstream } from '../feeds/feedTable';
import { KeyCandidate, keyCandidates } from '../index/keyTable';
import { keysNamed, NamedKey } from '../index/nameIndex';
import { getPackageRow } from '../packages/packageTable';
import { StorageClients } from '../storage/clients';
import { mapLimit } from '../util/mapLimit';
import { LookupInput } from './lookupInput';

type LookupPorts = {
  readonly storage: Pick<StorageClients, 'packagesTable' | 'symbolKeysTable' | 'symbolNamesTable'>;
  readonly feeds: Pick<FeedCache, 'feed' | 'leafMembers'>;
};

/** Candidates and nearest hits shown: enough to see why, bounded whatever the feed holds. */
export const LOOKUP_ROWS = 20;

/** What the page shows of a package beside a key: enough to recognise it and open it. */
export interface PackageLabel {
  readonly feed: string;
  readonly packageUid: string;
  readonly id?: string;
  readonly version?: string;
  readonly state?: string;
}

export interface Offer extends KeyCandidate, PackageLabel {}
export interface NearHit extends NamedKey, PackageLabel {}

export interface LookupAnswer {
  /** How the input was read, in words, and the key it names, if any. */
  readonly read?: string;
  readonly key?: string;
  readonly file?: string;
  /** Every package offering the key, per feed (an aggregate's members in their order), best first. */
  readonly offers: readonly Offer[];
  /** The offer the feed serves, and why that one, in words. */
  readonly serving?: Offer;
  readonly why?: string;
  /** The same file name under other keys: the usual cause of a miss is a rebuilt binary. */
  readonly nearest: readonly NearHit[];
  /** More keys are filed under the name than are shown. */
  readonly moreNearest: boolean;
  /** Asked, in order, for a key no package has (an aggregate asks its members'). */
  readonly upstreams: readonly (ShownUpstream & { readonly feed: string })[];
}

/** Labels for the packages named, each read once: at most the rows shown. */
async function labelled<T extends { packageUid: string; feed: string }>(
  ports: LookupPorts,
  items: readonly T[],
): Promise<(T & PackageLabel)[]> {
  return mapLimit(items, 8, async (item) => {
    const row = await getPackageRow(ports.storage.packagesTable, item.feed, item.packageUid);
    return row ? { ...item, id: row.id, version: row.version, state: row.state } : item;
  });
}

const SOURCE_RANK = { explicit: 0, derived: 1, upstream: 2 } as const;

/**
 * The offer served, and why, by the rules serving follows (index/keyTable.ts within a feed,
 * serve/locationCache.ts across an aggregate's members).
 */
function whyServed(
  offers: readonly Offer[],
  aggregate: boolean,
): { serving?: Offer; why?: string } {
  const served = offers.filter((offer) => offer.serving);
  if (served.length === 0) return {};
  const best = [...served].sort(
    (a, b) => SOURCE_RANK[a.source] - SOURCE_RANK[b.source],
  )[0] as Offer;
  const rivals = offers.filter((offer) => offer !== best);
  const reasons: string[] = [];
  if (rivals.some((r) => SOURCE_RANK[r.source] > SOURCE_RANK[best.source])) {
    reasons.push(
      best.source === 'explicit'
        ? 'an explicit key (named in a package’s symbol_index.json) beats one derived from a file or fetched from an upstream'
        : 'a key derived from a file beats one fetched from an upstream',
    );
  }
  const sameKind = rivals.filter((r) => r.source === best.source);
  if (sameKind.some((r) => r.feed === best.feed)) {
    reasons.push('of packages offering it the same way, the one first indexed earliest wins');
  }
  if (aggregate && sameKind.some((r) => r.feed !== best.feed)) {
    reasons.push(`the aggregate asks its members in order, and ${best.feed} comes first`);
  }
  return {
    serving: best,
    why: reasons.length ? `${reasons.join('; ')}.` : 'it is the only package offering the key.',
  };
}

export async function lookUp(
  ports: LookupPorts,
  feed: Feed,
  input: Exclude<LookupInput, { kind: 'invalid' }>,
): Promise<LookupAnswer> {
  const aggregate = feed.members.length > 0;
  const members = aggregate ? await ports.feeds.leafMembers(feed) : [feed.name];
  const key = input.kind === 'key' ? input.key : undefined;
  const file = input.file;
  const perMember = await mapLimit(members, 8, async (member) => {
    const [candidates, named] = await Promise.all([
      key ? keyCandidates(ports.storage.symbolKeysTable, member, key) : [],
      file
        ? keysNamed(ports.storage.symbolNamesTable, member, file, LOOKUP_ROWS + 1)
        : { keys: [], more: false },
    ]);
    return {
      offers: candidates.slice(0, LOOKUP_ROWS).map((c) => ({ ...c, feed: member })),
      nearest: named.keys.filter((hit) => hit.key !== key).map((hit) => ({ ...hit, feed: member })),
      more: named.more,
    };
  });
  const offers = await labelled(
    ports,
    perMember.flatMap((m) => m.offers),
  );
  const allNear = perMember.flatMap((m) => m.nearest);
  const nearest = await labelled(ports, allNear.slice(0, LOOKUP_ROWS));
  const upstreamFeeds = aggregate
    ? (await mapLimit(members, 8, (name) => ports.feeds.feed(name))).filter(
        (member): member is Feed => member !== undefined,
      )
    : [feed];
  return {
    ...(input.kind === 'key' && { read: input.read, key: input.key }),
    ...(file && { file }),
    offers,
    ...whyServed(offers, aggregate),
    nearest,
    moreNearest: allNear.length > LOOKUP_ROWS || perMember.some((m) => m.more),
    upstreams: upstreamFeeds.flatMap((f) =>
      shownFeed(f).upstreams.map((upstream) => ({ ...upstream, feed: f.name })),
    ),
  };
}
