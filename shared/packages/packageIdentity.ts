import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';

/** The NuGet id and version of a package, for listings and retention. */
export interface PackageIdentity {
  readonly id: string;
  readonly version: string;
}

const nuspecSchema = z.object({
  package: z.object({
    metadata: z.object({
      id: z.union([z.string(), z.number()]).transform(String),
      version: z.union([z.string(), z.number()]).transform(String),
    }),
  }),
});

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
});

/** Reads id and version from a .nuspec; undefined when it is not one that says both. */
export function identityFromNuspec(xml: string): PackageIdentity | undefined {
  try {
    const parsed = nuspecSchema.safeParse(parser.parse(xml));
    if (!parsed.success) return undefined;
    const { id, version } = parsed.data.package.metadata;
    return id.trim() && version.trim() ? { id: id.trim(), version: version.trim() } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A package without a .nuspec is named by its file: "Foo.Bar.1.2.3-beta.nupkg" reads as NuGet
 * names files, anything else is an id with no version.
 */
export function identityFromName(name: string): PackageIdentity {
  const base = name.slice(name.lastIndexOf('/') + 1).replace(/\.(zip|nupkg|snupkg)$/i, '');
  const match = /^(.+?)\.(\d+(?:\.\d+){1,3}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/.exec(base);
  return match
    ? { id: match[1] as string, version: match[2] as string }
    : { id: base, version: '' };
}

/** SemVer 2: a version with a pre-release label. */
export function isPrerelease(version: string): boolean {
  return /^[^+]*-/.test(version);
}
