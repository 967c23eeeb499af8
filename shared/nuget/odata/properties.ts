/**
 * The V2FeedPackage properties symfeed fills, with their EDM types: the same list drives
 * $metadata, the Atom entries, and which names $filter and $orderby accept.
 */
export const PROPERTIES = {
  Id: 'Edm.String',
  Version: 'Edm.String',
  NormalizedVersion: 'Edm.String',
  Title: 'Edm.String',
  Description: 'Edm.String',
  Summary: 'Edm.String',
  Authors: 'Edm.String',
  Owners: 'Edm.String',
  Tags: 'Edm.String',
  Dependencies: 'Edm.String',
  IsLatestVersion: 'Edm.Boolean',
  IsAbsoluteLatestVersion: 'Edm.Boolean',
  IsPrerelease: 'Edm.Boolean',
  Listed: 'Edm.Boolean',
  RequireLicenseAcceptance: 'Edm.Boolean',
  Created: 'Edm.DateTime',
  Published: 'Edm.DateTime',
  LastUpdated: 'Edm.DateTime',
  PackageSize: 'Edm.Int64',
  DownloadCount: 'Edm.Int32',
  VersionDownloadCount: 'Edm.Int32',
} as const;

export type PropertyName = keyof typeof PROPERTIES;
export type EdmType = (typeof PROPERTIES)[PropertyName];
/** Date-times travel as ISO 8601 UTC strings, which order correctly as strings. */
export type Value = string | number | boolean | null;
export type PackageProperties = { readonly [P in PropertyName]: Value };

export function isProperty(name: string): name is PropertyName {
  return Object.hasOwn(PROPERTIES, name);
}
