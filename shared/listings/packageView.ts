import { listedPackage, ListedPackage, Package } from '../packages/package';
import { isPrerelease } from '../packages/packageIdentity';
import { compareVersions } from '../nuget/nugetVersion';
import { Subfeed } from '../nuget/subfeed';

/**
 * A package as NuGet clients see it in a (sub)feed listing: its id, else its blob's name, and as
 * its version the package's own made unique per upload (see uploadVersion).
 */
export interface PackageView extends ListedPackage {
  /** The version the .nuspec states. */
  readonly originalVersion: string;
  readonly prerelease: boolean;
}

/**
 * Every upload is its own package, so listings show each upload's version with a pre-release
 * label that names the upload by its time (UTC, 17 digits to the millisecond, as precise as
 * storage records it) and the first 8 hex digits of its uid, as SymbolSource did: `1.2.3`
 * uploaded 2026-11-24T11:02:12Z lists as `1.2.3-u20261124110212000a1b2c3d4`, `1.2.3-beta` as
 * `1.2.3-beta.u20261124110212000a1b2c3d4`, and build metadata stays last. SemVer 2 orders uploads
 * of one version by time, and two uploads of one version, even in the same second, are two
 * versions.
 */
export function uploadVersion(version: string, uploadedAt: string, packageUid: string): string {
  const stamp = `u${uploadedAt.replace(/\D/g, '').slice(0, 17).padEnd(17, '0')}${packageUid.slice(0, 8)}`;
  const plus = version.indexOf('+');
  const [core, metadata] =
    plus < 0 ? [version || '0.0.0', ''] : [version.slice(0, plus), version.slice(plus)];
  return `${core}${core.includes('-') ? '.' : '-'}${stamp}${metadata}`;
}

export function packageView(pkg: Package): PackageView {
  const version = uploadVersion(pkg.version, pkg.uploadedAt, pkg.packageUid);
  return {
    ...listedPackage(pkg),
    id: pkg.id || pkg.name,
    version,
    originalVersion: pkg.version,
    prerelease: isPrerelease(version),
  };
}

/** The key listings file a package under: its listed id, as NuGet compares ids. */
export function idKey(id: string): string {
  return id.toLowerCase();
}

/**
 * Whether a subfeed lists the package: the `original` state lists every package not deleted, as
 * uploaded; `own` subfeeds only the caller's.
 */
export function inSubfeed(view: PackageView, subfeed: Subfeed, owner?: string): boolean {
  const state =
    subfeed.state === 'original' ? view.state !== 'deleted' : view.state === subfeed.state;
  return state && (subfeed.ownership === 'all' || (owner !== undefined && view.owner === owner));
}

/** One id's uploads in the order registrations list them: oldest version first. */
export function byVersion(a: PackageView, b: PackageView): number {
  return compareVersions(a.version, b.version);
}
