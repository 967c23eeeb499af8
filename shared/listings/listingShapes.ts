import { ContainerClient } from '@azure/storage-blob';
import { isPrerelease } from '../packages/packageIdentity';
import { PACKAGE_STATES, PackageState } from '../packages/states';
import { isNuGetVersion, isSemVer2 } from '../nuget/nugetVersion';
import { JsonBlobMemory } from '../storage/jsonBlobMemory';
import { byVersion, PackageView } from './packageView';

/**
 * The materialised NuGet listings of a feed, static JSON blobs in the `listings` container read
 * by name (design: docs/behaviour.md "Listings"):
 * - `{feed}/ids/{id}.json`: every upload of one id, in every state, oldest version first;
 * - `{feed}/pages/{name}.json`: up to `pageIds` ids in id order, each with what search and the
 *   v2 latest-version listings show of it per state;
 * - `{feed}/index.json`: the pages in order, with how many ids each shows per state.
 */
export interface ListingsPorts {
  /** The `listings` container. */
  readonly container: ContainerClient;
  /** What readers remember of it; writers forget what they write. */
  readonly memory: JsonBlobMemory;
  /** Ids a page holds before it splits; a parameter so that tests cross pages with few ids. */
  readonly pageIds?: number;
}

/** NuGet's search pages hold hundreds of ids, and one page is one small read. */
export const PAGE_IDS = 500;

export interface IdListing {
  readonly views: readonly PackageView[];
}

/** Which versions a client may see: pre-releases, SemVer 2, versions NuGet 2.x cannot parse. */
export interface Visibility {
  readonly prerelease: boolean;
  readonly semVer2: boolean;
  /** Only versions every NuGet client parses (the v2 feed's rule). */
  readonly nugetOnly: boolean;
}

export function visible(version: string, seen: Visibility): boolean {
  return (
    (seen.prerelease || !isPrerelease(version)) &&
    (seen.semVer2 || !isSemVer2(version)) &&
    (!seen.nugetOnly || isNuGetVersion(version))
  );
}

const VISIBILITIES: readonly Visibility[] = [false, true].flatMap((prerelease) =>
  [false, true].flatMap((semVer2) =>
    [false, true].map((nugetOnly) => ({ prerelease, semVer2, nugetOnly })),
  ),
);

export function visibilityKey({ prerelease, semVer2, nugetOnly }: Visibility): string {
  return `${prerelease ? 'p' : 'r'}${semVer2 ? 2 : 1}${nugetOnly ? 'n' : 'a'}`;
}

/** One id in one state subfeed: its listed versions, and its latest upload as each client sees. */
export interface StateSummary {
  /** Display id: the latest upload's. */
  readonly id: string;
  readonly versions: readonly string[];
  /** The latest upload for each visibility; the same upload is there once. */
  readonly latest: readonly PackageView[];
}

export interface IdSummary {
  /** The id as listings compare it (idKey). */
  readonly key: string;
  readonly states: Partial<Record<PackageState, StateSummary>>;
}

export interface IdPage {
  /** Being split: writers wait for the index to name its halves (see splitPage). */
  readonly sealed?: true;
  readonly ids: readonly IdSummary[];
}

/**
 * Per state, the ids a page shows for each visibility (visibilityKey), and the versions it shows
 * (the key prefixed with `v`).
 */
export type PageCounts = Partial<Record<PackageState, Record<string, number>>>;

export interface PageRef {
  readonly name: string;
  /** The page's lowest id key; the first page's is "". */
  readonly first: string;
  readonly counts: PageCounts;
}

export interface ListingIndex {
  readonly pages: readonly PageRef[];
}

/** Whether the subfeed of `state` lists the upload (`original`: every upload not deleted). */
export function listsState(state: PackageState, view: PackageView): boolean {
  return state === 'original' ? view.state !== 'deleted' : view.state === state;
}

export function byKey(a: IdSummary, b: IdSummary): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The latest visible upload among a summary's candidates. */
export function latestVisible(summary: StateSummary, seen: Visibility): PackageView | undefined {
  return summary.latest
    .filter((view) => visible(view.version, seen))
    .sort(byVersion)
    .at(-1);
}

/** What the index pages hold of one id, from its uploads; undefined when no state lists it. */
export function summarise(key: string, views: readonly PackageView[]): IdSummary | undefined {
  const states: Partial<Record<PackageState, StateSummary>> = {};
  for (const state of PACKAGE_STATES) {
    const listed = views.filter((view) => listsState(state, view)).sort(byVersion);
    const newest = listed.at(-1);
    if (!newest) continue;
    const latest = new Map<string, PackageView>();
    for (const seen of VISIBILITIES) {
      const view = listed.filter((candidate) => visible(candidate.version, seen)).at(-1);
      if (view) latest.set(view.uid, view);
    }
    states[state] = {
      id: newest.id,
      versions: listed.map((view) => view.version),
      latest: [...latest.values()],
    };
  }
  return Object.keys(states).length ? { key, states } : undefined;
}

/** Whether a summary shows its id at all to a client that sees `seen`. */
export function shows(summary: StateSummary | undefined, seen: Visibility): boolean {
  // The first visible version answers: an id of thousands of versions is not counted per search.
  return summary?.versions.some((version) => visible(version, seen)) ?? false;
}

export function countsOf(ids: readonly IdSummary[]): PageCounts {
  const counts: PageCounts = {};
  for (const { states } of ids) {
    for (const [state, summary] of Object.entries(states) as [PackageState, StateSummary][]) {
      const perState = (counts[state] ??= {});
      for (const seen of VISIBILITIES) {
        const key = visibilityKey(seen);
        const versions = visibleVersions(summary, seen);
        if (versions > 0) {
          perState[key] = (perState[key] ?? 0) + 1;
          perState[`v${key}`] = (perState[`v${key}`] ?? 0) + versions;
        }
      }
    }
  }
  return counts;
}

/** How many ids (or, with `versions`, versions) a page shows a client. */
export function countIn(
  ref: PageRef,
  state: PackageState,
  seen: Visibility,
  what: 'ids' | 'versions' = 'ids',
): number {
  return ref.counts[state]?.[`${what === 'versions' ? 'v' : ''}${visibilityKey(seen)}`] ?? 0;
}

export function visibleVersions(summary: StateSummary | undefined, seen: Visibility): number {
  return summary?.versions.filter((version) => visible(version, seen)).length ?? 0;
}

export function idBlobName(feed: string, key: string): string {
  return `${feed}/ids/${encodeURIComponent(key)}.json`;
}

export function pageBlobName(feed: string, name: string): string {
  return `${feed}/pages/${name}.json`;
}

export function indexBlobName(feed: string): string {
  return `${feed}/index.json`;
}
