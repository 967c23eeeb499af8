import { PackageView } from '../../listings/packageView';
import { PackageProperties } from './properties';
import { isPrerelease } from '../../packages/packageIdentity';
import { compareVersions, isNuGetVersion, isSemVer2, normalizeVersion } from '../nugetVersion';

/** A package of a v2 listing: its view and its OData properties. */
export interface FeedPackage {
  readonly view: PackageView;
  readonly props: PackageProperties;
}

function newer(a: { view: PackageView }, b: typeof a): boolean {
  return (
    (compareVersions(a.view.version, b.view.version) ||
      a.view.uploadedAt.localeCompare(b.view.uploadedAt)) > 0
  );
}

/**
 * The packages a v2 client may list, with IsLatestVersion (latest release) and
 * IsAbsoluteLatestVersion (latest of all) computed per id among exactly these. A listed version
 * no NuGet client could parse (a .nuspec version that is not one) is left out: one such entry
 * would fail the client's whole listing. Without `semVer2`, SemVer 2 versions are left out too.
 */
export function feedPackages(views: readonly PackageView[], semVer2: boolean): FeedPackage[] {
  const parsed = views.flatMap((view) =>
    isNuGetVersion(view.version) && (semVer2 || !isSemVer2(view.version)) ? [{ view }] : [],
  );
  const latest = new Map<string, (typeof parsed)[number]>();
  const absoluteLatest = new Map<string, (typeof parsed)[number]>();
  for (const candidate of parsed) {
    const key = candidate.view.id.toLowerCase();
    const best = absoluteLatest.get(key);
    if (!best || newer(candidate, best)) absoluteLatest.set(key, candidate);
    if (!isPrerelease(candidate.view.version)) {
      const release = latest.get(key);
      if (!release || newer(candidate, release)) latest.set(key, candidate);
    }
  }
  return parsed.map((candidate) => {
    const { view } = candidate;
    const key = view.id.toLowerCase();
    const published = view.uploadedAt || new Date(0).toISOString();
    return {
      view,
      props: {
        Id: view.id,
        Version: view.version,
        NormalizedVersion: normalizeVersion(view.version),
        Title: view.id,
        Description: `symfeed upload ${view.uid} of ${view.id} ${view.originalVersion || '(no version)'}: ${view.state}`,
        Summary: '',
        Authors: view.owner || 'symfeed',
        Owners: view.owner,
        Tags: view.state,
        Dependencies: '',
        IsLatestVersion: latest.get(key) === candidate,
        IsAbsoluteLatestVersion: absoluteLatest.get(key) === candidate,
        IsPrerelease: isPrerelease(view.version),
        Listed: true,
        RequireLicenseAcceptance: false,
        Created: published,
        Published: published,
        LastUpdated: published,
        PackageSize: view.size,
        DownloadCount: 0,
        VersionDownloadCount: 0,
      },
    };
  });
}

/** The package of an id and version, the version matched as NuGet does (1.0 is 1.0.0). */
export function findFeedPackage(
  packages: readonly FeedPackage[],
  id: string,
  version: string,
): FeedPackage | undefined {
  if (!isNuGetVersion(version)) return undefined;
  return packages.find(
    (p) =>
      p.view.id.toLowerCase() === id.toLowerCase() &&
      compareVersions(p.view.version, version) === 0,
  );
}
