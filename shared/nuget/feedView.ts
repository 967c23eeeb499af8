import { listedPackage, ListedPackage, Package } from '../packages/package';
import { listPackages } from '../packages/packageTable';
import { isPrerelease } from '../packages/packageIdentity';
import { StorageClients } from '../storage/clients';
import { Subfeed } from './subfeed';

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

function toView(pkg: Package): PackageView {
  const version = uploadVersion(pkg.version, pkg.uploadedAt, pkg.packageUid);
  return {
    ...listedPackage(pkg),
    id: pkg.id || pkg.name,
    version,
    originalVersion: pkg.version,
    prerelease: isPrerelease(version),
  };
}

/**
 * The packages a subfeed lists, ordered by id then upload. The `original` state lists every
 * package not deleted, as uploaded; `own` subfeeds only the caller's.
 */
export async function subfeedPackages(
  storage: StorageClients,
  subfeed: Subfeed,
  owner?: string,
): Promise<PackageView[]> {
  const rows =
    subfeed.state === 'original'
      ? (await listPackages(storage.packagesTable, subfeed.feed)).filter(
          (row) => row.state !== 'deleted',
        )
      : await listPackages(storage.packagesTable, subfeed.feed, subfeed.state);
  return rows
    .filter((row) => subfeed.ownership === 'all' || (owner !== undefined && row.owner === owner))
    .map(toView)
    .sort(
      (a, b) =>
        a.id.toLowerCase().localeCompare(b.id.toLowerCase()) ||
        a.uploadedAt.localeCompare(b.uploadedAt),
    );
}

/** One package of a subfeed by id (case-insensitive, as NuGet) and listed version. */
export async function findPackage(
  storage: StorageClients,
  subfeed: Subfeed,
  owner: string | undefined,
  id: string,
  version: string,
): Promise<PackageView | undefined> {
  const all = await subfeedPackages(storage, subfeed, owner);
  return all.find(
    (view) =>
      view.id.toLowerCase() === id.toLowerCase() &&
      view.version.toLowerCase() === version.toLowerCase(),
  );
}
