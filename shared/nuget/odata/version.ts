/**
 * NuGet versions as the v2 feed needs them: 1 to 4 numeric parts, an optional SemVer 2
 * pre-release label and build metadata. Precedence follows SemVer 2 (labels compare
 * case-insensitively, as NuGet does); build metadata never counts.
 */
export interface NuGetVersion {
  readonly parts: readonly [number, number, number, number];
  readonly prerelease: readonly string[];
  readonly metadata: string;
}

const VERSION =
  /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function parseVersion(text: string): NuGetVersion | undefined {
  const match = VERSION.exec(text.trim());
  if (!match) return undefined;
  const part = (i: number) => Number(match[i] ?? '0');
  const parts = [part(1), part(2), part(3), part(4)] as const;
  if (!parts.every(Number.isSafeInteger)) return undefined;
  return { parts, prerelease: match[5]?.split('.') ?? [], metadata: match[6] ?? '' };
}

/** NuGet's normalized form: three parts (four when the revision is not 0), no build metadata. */
export function normalizeVersion(version: NuGetVersion): string {
  const [major, minor, patch, revision] = version.parts;
  const core = `${major}.${minor}.${patch}${revision === 0 ? '' : `.${revision}`}`;
  return version.prerelease.length ? `${core}-${version.prerelease.join('.')}` : core;
}

/**
 * Clients that do not announce semVerLevel=2.0.0 (NuGet 2.x) cannot parse dotted labels or
 * build metadata; nuget.org hides such versions from them, and so does this feed.
 */
export function isSemVer2(version: NuGetVersion): boolean {
  return version.prerelease.length > 1 || version.metadata !== '';
}

function compareIdentifiers(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) return Math.sign(Number(a) - Number(b));
  if (numeric.test(a)) return -1;
  if (numeric.test(b)) return 1;
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compareVersions(a: NuGetVersion, b: NuGetVersion): number {
  for (let i = 0; i < 4; i++) {
    const difference = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  // A release outranks every pre-release of it.
  if (!a.prerelease.length || !b.prerelease.length) {
    return Math.sign(b.prerelease.length - a.prerelease.length);
  }
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const order = compareIdentifiers(a.prerelease[i] ?? '', b.prerelease[i] ?? '');
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}
