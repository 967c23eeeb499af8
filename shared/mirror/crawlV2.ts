import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { setMirrorCursor } from '../feeds/feedTable';
import { StorageClients } from '../storage/clients';
import { copyInto } from './copyPackage';
import { MirrorError, MirrorSource } from './mirrorSource';

/** One run's outcome, as the catalog follower's. */
export interface V2Run {
  readonly copied: number;
  readonly skipped: number;
  readonly cursor: string;
  readonly more: boolean;
}

/** A v2 package is named by its id and version, immutable in NuGet: one copy per pair. */
export function v2BlobName(id: string, version: string): string {
  const uid = createHash('sha256')
    .update(`${id.toLowerCase()}/${version.toLowerCase()}`)
    .digest('hex')
    .slice(0, 32);
  return `mirror-v2-${uid}.nupkg`;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'entry' || name === 'link',
});

/** An OData value: text, or text with an m:type (m:null values have no text). */
const textSchema = z.union([
  z.string(),
  z.object({ '#text': z.string().optional() }).transform((value) => value['#text'] ?? ''),
]);

const feedSchema = z.object({
  feed: z.object({
    link: z.array(z.object({ '@_rel': z.string().optional(), '@_href': z.string() })).optional(),
    entry: z
      .array(
        z.object({
          content: z.object({ '@_src': z.string() }),
          properties: z.object({
            Id: textSchema,
            Version: textSchema,
            LastUpdated: textSchema,
            PackageHash: textSchema.optional(),
            PackageHashAlgorithm: textSchema.optional(),
          }),
        }),
      )
      .optional(),
  }),
});

/** `datetime'...'` takes what the feed wrote back: digits, dashes, colons, T and a fraction. */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z?$/;

/** The first page: every package, or those updated at the cursor or after, oldest first. */
function firstPage(root: string, cursor: string): string {
  const filter = cursor
    ? `&$filter=${encodeURIComponent(`LastUpdated ge datetime'${cursor}'`)}`
    : '';
  return `${root.replace(/\/+$/, '')}/Packages()?$orderby=LastUpdated${filter}`;
}

/**
 * One run over a NuGet v2 (OData) source, which has no catalog: its packages by `LastUpdated`
 * from the cursor on, following `next` links. `ge`, not `gt`, so that a run stopped between two
 * packages of the same time misses neither; the packages at the cursor come again and are
 * skipped as copied. A v2 feed tells of no deletes: copies stay.
 */
export async function crawlV2(
  storage: StorageClients,
  source: MirrorSource,
  feed: string,
  start: string,
  options: { limit?: number; stopAt?: number },
): Promise<V2Run> {
  let cursor = start;
  const counts = { copied: 0, skipped: 0 };
  let done = 0;
  let page: string | undefined = firstPage(source.mirror.url, cursor);
  while (page !== undefined) {
    const response = await source.get(page, 30_000);
    if (!response.ok) {
      await response.body?.cancel();
      throw new MirrorError(`the source answered ${response.status} to ${page}`);
    }
    const parsed = feedSchema.safeParse(parser.parse(await response.text()));
    if (!parsed.success) throw new MirrorError(`${page} is not a NuGet v2 (OData Atom) feed`);
    for (const entry of parsed.data.feed.entry ?? []) {
      const over = options.stopAt !== undefined && Date.now() >= options.stopAt;
      if (over || (options.limit !== undefined && done >= options.limit)) {
        return { ...counts, cursor, more: true };
      }
      const { Id: id, Version: version, LastUpdated: updated } = entry.properties;
      if (!DATETIME.test(updated)) {
        throw new MirrorError(`the source lists ${id} ${version} with LastUpdated "${updated}"`);
      }
      const sha512 =
        entry.properties.PackageHashAlgorithm?.toUpperCase() === 'SHA512'
          ? entry.properties.PackageHash
          : undefined;
      counts[
        await copyInto(storage, source, {
          feed,
          name: v2BlobName(id, version),
          url: new URL(entry.content['@_src'], page).toString(),
          what: `${id} ${version}`,
          ...(sha512 ? { sha512 } : {}),
        })
      ]++;
      cursor = updated;
      await setMirrorCursor(storage.feedsTable, feed, cursor);
      done++;
    }
    const next = parsed.data.feed.link?.find((link) => link['@_rel'] === 'next');
    page = next ? new URL(next['@_href'], page).toString() : undefined;
  }
  return { ...counts, cursor, more: false };
}
