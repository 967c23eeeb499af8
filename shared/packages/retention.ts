import { Feed, FeedError, getFeed, RetentionPolicy } from '../feeds/feedTable';
import { StorageClients } from '../storage/clients';
import { requestDelete } from './deletePackage';
import { isPrerelease } from './packageIdentity';
import { Package } from './package';
import { listPackages } from './packageTable';
import { DELETING_STATES } from './states';

/** A package retention deletes, and the rules that say so. */
export interface RetentionDecision extends Pick<Package, 'packageUid' | 'name' | 'id' | 'version'> {
  readonly reason: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The delete message's reason is at most 500 characters; a long package id must not break it. */
const MAX_REASON = 500;

export function hasRetentionPolicy(policy: RetentionPolicy): boolean {
  return (
    policy.keepLatestPerId !== undefined ||
    policy.maxAgeDays !== undefined ||
    policy.maxPackages !== undefined
  );
}

/**
 * When a package was uploaded, in ms. Rows written before uploadedAt existed have it empty; the
 * first indexing run is the closest thing they have.
 */
function uploadTime(row: Package): number {
  const at = Date.parse(row.uploadedAt);
  return Number.isNaN(at) ? row.firstIndexedAt : at;
}

/** Newest first; ties go by indexing time, then by uid, so that every run decides the same way. */
function newestFirst(a: Package, b: Package): number {
  return (
    uploadTime(b) - uploadTime(a) ||
    b.firstIndexedAt - a.firstIndexedAt ||
    (b.packageUid < a.packageUid ? -1 : b.packageUid > a.packageUid ? 1 : 0)
  );
}

const plural = (count: number, one: string, many: string) =>
  count === 1 ? one : `${count} ${many}`;

/**
 * Which active packages (neither deleted nor on their way) a policy deletes, oldest first. A
 * package goes when any rule says so, and its reason names every rule that does:
 *
 * - maxAgeDays: uploaded more than D days before `now` (only prereleases when prereleaseOnly;
 *   prereleaseOnly on its own does nothing);
 * - keepLatestPerId: beyond the newest N uploads of its id (ids compare case-insensitively, as
 *   NuGet's do; uploads, not versions, so a re-upload of an old version counts as new);
 * - maxPackages: beyond the newest M of the packages the other rules keep, so the feed ends with
 *   at most M and no package is counted against M while another rule deletes it anyway.
 *
 * Packages already being deleted count for nothing: they are gone as far as retention goes.
 */
export function planRetention(
  packages: readonly Package[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision[] {
  const active = packages
    .filter((row) => row.state !== 'deleted' && !DELETING_STATES.has(row.state))
    .sort(newestFirst);
  const reasons = new Map<Package, string[]>();
  const add = (row: Package, reason: string) =>
    reasons.set(row, [...(reasons.get(row) ?? []), reason]);

  const { maxAgeDays, prereleaseOnly, keepLatestPerId, maxPackages } = policy;
  if (maxAgeDays !== undefined) {
    const cutoff = now.getTime() - maxAgeDays * DAY_MS;
    const age = `older than ${plural(maxAgeDays, '1 day', 'days')}`;
    for (const row of active) {
      if (uploadTime(row) >= cutoff) continue;
      if (!prereleaseOnly) add(row, age);
      else if (isPrerelease(row.version)) add(row, `${age} (prerelease)`);
    }
  }

  if (keepLatestPerId !== undefined) {
    const seen = new Map<string, number>();
    for (const row of active) {
      const id = row.id.toLowerCase();
      const rank = (seen.get(id) ?? 0) + 1;
      seen.set(id, rank);
      if (rank > keepLatestPerId) {
        add(row, `beyond the newest ${plural(keepLatestPerId, 'upload', 'uploads')} of ${row.id}`);
      }
    }
  }

  if (maxPackages !== undefined) {
    const reason = `beyond the feed's ${plural(maxPackages, 'newest package', 'newest packages')}`;
    active
      .filter((row) => !reasons.has(row))
      .slice(maxPackages)
      .forEach((row) => add(row, reason));
  }

  return active
    .filter((row) => reasons.has(row))
    .reverse()
    .map((row) => ({
      packageUid: row.packageUid,
      name: row.name,
      id: row.id,
      version: row.version,
      reason: (reasons.get(row) ?? []).join('; '),
    }));
}

export interface RetentionOptions {
  readonly dryRun: boolean;
  /** The moment ages are measured from; tests pass a future one instead of waiting days. */
  readonly now?: Date;
}

/**
 * Plans a feed's retention and, unless dry, asks for each delete; the deletes queue does the rest.
 * An aggregate feed has no packages of its own (its members have their own policies).
 */
export async function applyRetention(
  storage: StorageClients,
  feed: Feed,
  options: RetentionOptions,
): Promise<RetentionDecision[]> {
  if (feed.members.length > 0 || !hasRetentionPolicy(feed.retention)) return [];
  const packages = await listPackages(storage.packagesTable, feed.name);
  const plan = planRetention(packages, feed.retention, options.now ?? new Date());
  if (options.dryRun) return plan;
  for (const decision of plan) {
    // A package deleted since it was listed answers 'already': it goes either way.
    await requestDelete(
      { storage },
      {
        feed: feed.name,
        packageUid: decision.packageUid,
        reason: `retention: ${decision.reason}`.slice(0, MAX_REASON),
      },
    );
  }
  return plan;
}

/** applyRetention for a feed named by the caller; an unknown feed is a FeedError (404). */
export async function runRetention(
  storage: StorageClients,
  feedName: string,
  options: RetentionOptions,
): Promise<RetentionDecision[]> {
  const feed = await getFeed(storage.feedsTable, feedName);
  if (!feed) throw new FeedError(`feed "${feedName}" does not exist`, 404);
  return applyRetention(storage, feed, options);
}
