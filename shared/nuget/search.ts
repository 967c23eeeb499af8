import { z } from 'zod';
import { PackageView } from './feedView';
import { versionsOf } from './flatContainer';
import { isSemVer2, normalizeVersion } from './nugetVersion';
import { RegistrationUrls } from './registrations';

export const MAX_TAKE = 1000;

const flag = z
  .string()
  .optional()
  .transform((value) => value?.toLowerCase() === 'true');

/** SearchQueryService parameters; anything unreadable falls back to the protocol's default. */
export const searchQuerySchema = z.object({
  q: z
    .string()
    .default('')
    .transform((q) => q.slice(0, 1000)),
  skip: z.coerce.number().int().nonnegative().catch(0),
  take: z.coerce.number().int().nonnegative().max(MAX_TAKE).catch(20),
  prerelease: flag,
  semVerLevel: z.string().optional(),
});
export type SearchQuery = z.output<typeof searchQuerySchema>;

export function parseSearchQuery(query: URLSearchParams): SearchQuery {
  return searchQuerySchema.parse({
    q: query.get('q') ?? undefined,
    skip: query.get('skip') ?? undefined,
    take: query.get('take') ?? undefined,
    prerelease: query.get('prerelease') ?? undefined,
    semVerLevel: query.get('semVerLevel') ?? undefined,
  });
}

/**
 * `packageid:Foo` (or `id:Foo`) asks for one id exactly; other terms must each occur in the id.
 * Ids are all symfeed knows of a package, so that is all a search looks at.
 */
function matcher(q: string): (id: string) => boolean {
  const exact: string[] = [];
  const terms: string[] = [];
  for (const term of q.toLowerCase().split(/\s+/).filter(Boolean)) {
    const field = /^(?:packageid|id):(.+)$/.exec(term);
    if (field?.[1]) exact.push(field[1]);
    else terms.push(term);
  }
  return (id) => {
    const lower = id.toLowerCase();
    return exact.every((e) => e === lower) && terms.every((t) => lower.includes(t));
  };
}

/**
 * Search results, one per id. Every upload lists under a pre-release version (see uploadVersion),
 * so, as SymbolSource's users did with `-prerelease`, clients must ask for pre-releases to see any.
 */
export function search(urls: RegistrationUrls, views: readonly PackageView[], query: SearchQuery) {
  const semVer2 = /^[2-9]/.test(query.semVerLevel ?? '');
  const visible = views.filter(
    (view) => (query.prerelease || !view.prerelease) && (semVer2 || !isSemVer2(view.version)),
  );
  const matches = matcher(query.q);
  const ids = [...new Set(visible.map((view) => view.id.toLowerCase()))].filter(matches).sort();
  const data = ids.slice(query.skip, query.skip + query.take).map((lowerId) => {
    const versions = versionsOf(visible, lowerId);
    const latest = versions[versions.length - 1] as PackageView;
    const registration = `${urls.registrationBase}${encodeURIComponent(lowerId)}/index.json`;
    return {
      '@id': registration,
      '@type': 'Package',
      registration,
      id: latest.id,
      version: latest.version,
      description: `symfeed uploads of ${latest.id}`,
      authors: [],
      totalDownloads: 0,
      verified: false,
      versions: versions.map((view) => ({
        version: view.version,
        downloads: 0,
        '@id': `${urls.registrationBase}${encodeURIComponent(lowerId)}/${encodeURIComponent(normalizeVersion(view.version))}.json`,
      })),
    };
  });
  return { totalHits: ids.length, data };
}
