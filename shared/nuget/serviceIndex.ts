/** Where each part of a (sub)feed's NuGet API lives, under `{public base}/F/{feed segment}/api`. */
export function nugetUrls(apiBase: string) {
  return {
    serviceIndex: `${apiBase}/v3/index.json`,
    packagePublish: `${apiBase}/v2/package`,
    // A separate URL only so that the stored blob is named .snupkg: NuGet clients name every
    // multipart file "package.nupkg", whatever they push.
    symbolPackagePublish: `${apiBase}/v2/symbolpackage`,
    flatContainerBase: `${apiBase}/v3/flatcontainer/`,
    registrationBase: `${apiBase}/v3/registration/`,
    search: `${apiBase}/v3/query`,
    legacyGallery: `${apiBase}/v2/`,
    catalog: `${apiBase}/v3/catalog`,
  };
}

const VERSIONED = {
  RegistrationsBaseUrl: ['', '/3.0.0-beta', '/3.0.0-rc', '/3.4.0', '/3.6.0'],
  SearchQueryService: ['', '/3.0.0-beta', '/3.0.0-rc', '/3.5.0'],
} as const;

/**
 * The v3 service index. Every registration and search type points at the same documents: they
 * carry SemVer 2 versions (every NuGet client since 4.3 reads them), and nothing is gzipped.
 * The catalog is the whole feed's, so only the plain feed URL advertises it.
 */
export function serviceIndex(apiBase: string, withCatalog = true) {
  const urls = nugetUrls(apiBase);
  const resource = (id: string, type: string, comment: string) => ({
    '@id': id,
    '@type': type,
    comment,
  });
  return {
    version: '3.0.0',
    resources: [
      resource(urls.packagePublish, 'PackagePublish/2.0.0', 'Push and delete packages'),
      resource(urls.symbolPackagePublish, 'SymbolPackagePublish/4.9.0', 'Push symbol packages'),
      resource(urls.flatContainerBase, 'PackageBaseAddress/3.0.0', 'Package versions and content'),
      ...VERSIONED.RegistrationsBaseUrl.map((suffix) =>
        resource(urls.registrationBase, `RegistrationsBaseUrl${suffix}`, 'Package metadata'),
      ),
      ...VERSIONED.SearchQueryService.map((suffix) =>
        resource(urls.search, `SearchQueryService${suffix}`, 'Search by package id'),
      ),
      resource(urls.legacyGallery, 'LegacyGallery/2.0.0', 'The NuGet v2 (OData) feed'),
      ...(withCatalog
        ? [resource(`${urls.catalog}/index.json`, 'Catalog/3.0.0', 'Every package event, in order')]
        : []),
    ],
  };
}
