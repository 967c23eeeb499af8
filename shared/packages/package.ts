import { PackageState } from './states';

/**
 * One upload of a package: the facts every form of it shares. The packages table and the status
 * document are its stored forms (packageTable.ts, statusDocument.ts), each converting at its own
 * storage edge; the listings of the admin API, the CLI and NuGet are views of it.
 */
export interface Package {
  readonly feed: string;
  readonly packageUid: string;
  /** Name of the blob inside the feed's folder. */
  readonly name: string;
  /** NuGet id and version (from the .nuspec, else from the file name). */
  readonly id: string;
  readonly version: string;
  /** Who uploaded it: the owner of the push token, or "" for a blob dropped into storage. */
  readonly owner: string;
  readonly uploadedAt: string;
  readonly blobEtag: string;
  readonly size: number;
  readonly state: PackageState;
  readonly stateChangedAt: string;
  /** ms since the epoch; decides precedence among packages offering the same key. */
  readonly firstIndexedAt: number;
}

/** What an indexing run found in the package, as counts. */
export interface PackageCounts {
  readonly keyCount: number;
  readonly errorCount: number;
  readonly warningCount: number;
}

/** The package's blob in the packages container. */
export function packageBlob({ feed, name }: Pick<Package, 'feed' | 'name'>): string {
  return `${feed}/${name}`;
}

/** A package as listings show it: named by its uid and its blob rather than by storage keys. */
export interface ListedPackage extends Pick<
  Package,
  'id' | 'version' | 'state' | 'size' | 'owner' | 'uploadedAt'
> {
  readonly uid: string;
  /** Its name in the packages container. */
  readonly blob: string;
}

export function listedPackage(pkg: Package): ListedPackage {
  return {
    uid: pkg.packageUid,
    id: pkg.id,
    version: pkg.version,
    state: pkg.state,
    blob: packageBlob(pkg),
    size: pkg.size,
    owner: pkg.owner,
    uploadedAt: pkg.uploadedAt,
  };
}
