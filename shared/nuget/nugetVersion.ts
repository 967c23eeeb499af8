/**
 * NuGet versions as clients put them in URLs and compare them: SemVer 2 with NuGet's leniency
 * (one to four numeric parts). Upload versions (feedView's uploadVersion) are ordinary SemVer, so
 * these rules order and match them as any NuGet client would.
 */
interface ParsedVersion {
  readonly numbers: readonly number[];
  readonly labels: readonly string[];
}

const IDENTIFIERS = '[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*';
const VERSION_PATTERN = new RegExp(
  `^(\\d+(?:\\.\\d+){0,3})(?:-(${IDENTIFIERS}))?(?:\\+${IDENTIFIERS})?$`,
);

function parse(version: string): ParsedVersion | undefined {
  const match = VERSION_PATTERN.exec(version.trim());
  if (!match?.[1]) return undefined;
  const numbers = match[1].split('.').map(Number);
  if (!numbers.every(Number.isSafeInteger)) return undefined;
  while (numbers.length < 4) numbers.push(0);
  return { numbers, labels: match[2] ? match[2].split('.') : [] };
}

/**
 * The form NuGet clients send and expect in flat container and registration URLs: lower case,
 * no build metadata, three parts unless the fourth is not zero. Unparseable versions (a package
 * named by its blob) stay as they are, lower-cased.
 */
export function normalizeVersion(version: string): string {
  const parsed = parse(version);
  if (!parsed) return version.trim().toLowerCase();
  const [major, minor, patch, revision] = parsed.numbers;
  const core = revision ? [major, minor, patch, revision] : [major, minor, patch];
  const label = parsed.labels.length ? `-${parsed.labels.join('.')}` : '';
  return `${core.join('.')}${label}`.toLowerCase();
}

function compareLabel(a: string, b: string): number {
  const aNumeric = /^\d+$/.test(a);
  const bNumeric = /^\d+$/.test(b);
  if (aNumeric && bNumeric) return Number(a) - Number(b) || a.length - b.length;
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  return la < lb ? -1 : la > lb ? 1 : 0;
}

/** SemVer 2 precedence (labels compared case-insensitively, as NuGet does); unparseable last. */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  for (let i = 0; i < 4; i += 1) {
    const diff = (pa.numbers[i] ?? 0) - (pb.numbers[i] ?? 0);
    if (diff) return diff;
  }
  if (!pa.labels.length || !pb.labels.length) return pb.labels.length - pa.labels.length;
  for (let i = 0; i < Math.min(pa.labels.length, pb.labels.length); i += 1) {
    const diff = compareLabel(pa.labels[i] ?? '', pb.labels[i] ?? '');
    if (diff) return diff;
  }
  return pa.labels.length - pb.labels.length;
}

/** A version only SemVer 2 clients understand: a dotted pre-release label or build metadata. */
export function isSemVer2(version: string): boolean {
  const match = VERSION_PATTERN.exec(version.trim());
  return match ? (match[2]?.includes('.') ?? false) || version.includes('+') : false;
}

/** A version NuGet accepts in a .nuspec. */
export function isNuGetVersion(version: string): boolean {
  return parse(version) !== undefined;
}

/** NuGet's own rule for package ids (PackageIdValidator). */
export function isNuGetId(id: string): boolean {
  return id.length <= 100 && /^\w+(?:[.-]\w+)*$/.test(id);
}
