import { PackageView } from '../listings/packageView';
import { compareVersions, normalizeVersion } from './nugetVersion';

/** The uploads of one package id (NuGet ids compare case-insensitively), oldest version first. */
export function versionsOf(views: readonly PackageView[], id: string): PackageView[] {
  const wanted = id.toLowerCase();
  return views
    .filter((view) => view.id.toLowerCase() === wanted)
    .sort((a, b) => compareVersions(a.version, b.version));
}

/** PackageBaseAddress/3.0.0 `{id}/index.json`: every version, normalized and lower case. */
export function flatContainerIndex(views: readonly PackageView[], id: string) {
  return { versions: versionsOf(views, id).map((view) => normalizeVersion(view.version)) };
}

/** The upload a flat container or registration URL names; clients send normalized versions. */
export function findVersion(
  views: readonly PackageView[],
  id: string,
  version: string,
): PackageView | undefined {
  const wanted = normalizeVersion(version);
  return versionsOf(views, id).find((view) => normalizeVersion(view.version) === wanted);
}

/** `{base}{id}/{version}/{id}.{version}.nupkg`, the one URL form NuGet clients download from. */
export function contentUrl(flatContainerBase: string, view: PackageView): string {
  const id = encodeURIComponent(view.id.toLowerCase());
  const version = encodeURIComponent(normalizeVersion(view.version));
  return `${flatContainerBase}${id}/${version}/${id}.${version}.nupkg`;
}
