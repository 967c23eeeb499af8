import { RestError, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { feedNameSchema } from './feedName';
import { isAbsent } from '../storage/faults';
import { isBaseUrl } from '../util/baseUrl';

export const visibilitySchema = z.enum(['public', 'private']);
export type Visibility = z.infer<typeof visibilitySchema>;

/** Per-feed retention (all rules optional; a package goes when any rule says so). */
export const retentionPolicySchema = z
  .object({
    /** Keep the newest N uploads of each package id. */
    keepLatestPerId: z.number().int().positive().optional(),
    /** Delete uploads older than this many days... */
    maxAgeDays: z.number().positive().optional(),
    /** ...and only prerelease ones, when set. */
    prereleaseOnly: z.boolean().optional(),
    /** Keep at most this many packages in the feed, the newest. */
    maxPackages: z.number().int().positive().optional(),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;

/** At most this many upstreams per feed: each miss may ask every one of them in turn. */
export const MAX_UPSTREAMS = 8;
const MAX_UPSTREAM_HEADERS = 8;

/** Another server symfeed asks (an upstream, a mirror's source): no credentials in its URL. */
const serverUrlSchema = z
  .string()
  .max(2048)
  .refine(
    isBaseUrl,
    'must be an absolute http or https URL without credentials, query or fragment',
  );

/**
 * A symbol server a plain feed asks for keys none of its packages has: `ssqp` (SSQP/SymSrv: the
 * key is appended to the URL) or `debuginfod` (ELF keys as /buildid/<id>/...). `headers` are sent
 * to it alone (an Authorization for Azure Artifacts, say): secrets, never shown back.
 */
export const upstreamSchema = z
  .object({
    kind: z.enum(['ssqp', 'debuginfod']),
    url: serverUrlSchema.transform((url) => url.replace(/\/+$/, '')),
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name is letters, digits and hyphens'),
        z
          .string()
          .max(8192)
          .regex(/^[\t\x20-\x7e]*$/, 'a header value is printable ASCII'),
      )
      .refine((headers) => Object.keys(headers).length <= MAX_UPSTREAM_HEADERS, {
        message: `at most ${MAX_UPSTREAM_HEADERS} headers per upstream`,
      })
      .optional(),
  })
  .strict();
export type Upstream = z.infer<typeof upstreamSchema>;

/**
 * Where a mirror feed copies its packages from: the v3 service index of another symfeed feed
 * (`.../F/{feed}/api/v3/index.json`). `token` reads a private source: a secret, never shown back.
 */
export const mirrorSchema = z
  .object({
    url: serverUrlSchema,
    /** `v3`: a symfeed feed's catalog (the default); `v2`: any NuGet v2 OData feed, by LastUpdated. */
    protocol: z.enum(['v3', 'v2']).optional(),
    token: z
      .string()
      .min(1)
      .max(4096)
      .regex(/^[\x21-\x7e]+$/, 'a token is printable ASCII without spaces')
      .optional(),
  })
  .strict();
export type Mirror = z.infer<typeof mirrorSchema>;

export interface Feed {
  readonly name: string;
  readonly visibility: Visibility;
  /** For an aggregate feed: its member feeds, in precedence order. Empty for a plain feed. */
  readonly members: readonly string[];
  readonly retention: RetentionPolicy;
  /** Asked in order for keys no package has. An aggregate has none: it asks its members'. */
  readonly upstreams: readonly Upstream[];
  /** A mirror feed's source; its packages arrive by `mirror run` and the mirror timer. */
  readonly mirror?: Mirror;
}

/** An upstream as shown (API, CLI): its headers' names, never their values. */
export interface ShownUpstream {
  readonly kind: Upstream['kind'];
  readonly url: string;
  readonly headerNames?: readonly string[];
}
/** A mirror as shown: whether it has a token, never the token. */
export interface ShownMirror {
  readonly url: string;
  readonly protocol?: Mirror['protocol'];
  readonly withToken: boolean;
}
export type ShownFeed = Omit<Feed, 'upstreams' | 'mirror'> & {
  readonly upstreams: readonly ShownUpstream[];
  readonly mirror?: ShownMirror;
};

/** A feed as the API and the CLI show it: upstream header values and mirror tokens are secrets. */
export function shownFeed({ mirror, ...feed }: Feed): ShownFeed {
  return {
    ...feed,
    upstreams: feed.upstreams.map(({ kind, url, headers }) =>
      headers ? { kind, url, headerNames: Object.keys(headers) } : { kind, url },
    ),
    ...(mirror && {
      mirror: {
        url: mirror.url,
        ...(mirror.protocol && { protocol: mirror.protocol }),
        withToken: mirror.token !== undefined,
      },
    }),
  };
}

export const feedInputSchema = z
  .object({
    name: feedNameSchema,
    visibility: visibilitySchema.default('public'),
    members: z.array(feedNameSchema).max(64).default([]),
    retention: retentionPolicySchema.default({}),
    upstreams: z
      .array(upstreamSchema)
      .max(MAX_UPSTREAMS, `at most ${MAX_UPSTREAMS} upstreams`)
      // A table property holds 64 KiB (32K UTF-16 characters).
      .refine((list) => JSON.stringify(list).length <= 30_000, {
        message: 'the upstreams take more than 30,000 characters',
      })
      .default([]),
    mirror: mirrorSchema.optional(),
  })
  .strict()
  .refine((feed) => feed.members.length === 0 || feed.upstreams.length === 0, {
    message: "an aggregate has no upstreams of its own: it asks its members' upstreams",
    path: ['upstreams'],
  })
  .refine((feed) => feed.members.length === 0 || feed.mirror === undefined, {
    message: 'an aggregate cannot be a mirror: it lists its members',
    path: ['mirror'],
  });
export type FeedInput = z.input<typeof feedInputSchema>;

/** Aggregates of aggregates are followed this deep, no deeper. */
export const MAX_AGGREGATE_DEPTH = 4;

const FEED_PARTITION = 'feed';

const feedRowSchema = z.object({
  rowKey: z.string(),
  visibility: visibilitySchema,
  members: z.string().default('[]'),
  retention: z.string().default('{}'),
  upstreams: z.string().default('[]'),
  mirror: z.string().default('null'),
  /** A mirror's cursor: the commit time of the last source catalog event it has done. */
  mirrorCursor: z.string().default(''),
});

/** A feed request that cannot be carried out, in words the caller can act on. */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
    this.name = 'FeedError';
  }
}

export async function getFeed(table: TableClient, name: string): Promise<Feed | undefined> {
  try {
    const row = feedRowSchema.parse(await table.getEntity(FEED_PARTITION, name));
    return toFeed(row);
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

function toFeed(row: z.infer<typeof feedRowSchema>): Feed {
  return {
    name: row.rowKey,
    visibility: row.visibility,
    members: z.array(z.string()).parse(JSON.parse(row.members)),
    retention: retentionPolicySchema.parse(JSON.parse(row.retention)),
    upstreams: z.array(upstreamSchema).parse(JSON.parse(row.upstreams)),
    ...(row.mirror !== 'null' && { mirror: mirrorSchema.parse(JSON.parse(row.mirror)) }),
  };
}

export async function listFeeds(table: TableClient): Promise<Feed[]> {
  const feeds: Feed[] = [];
  const rows = table.listEntities({
    queryOptions: { filter: `PartitionKey eq '${FEED_PARTITION}'` },
  });
  for await (const row of rows) feeds.push(toFeed(feedRowSchema.parse(row)));
  return feeds;
}

function parseInput(input: unknown): Feed {
  const parsed = feedInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new FeedError(`invalid feed: ${where}${issue?.message ?? 'unknown problem'}`, 400);
  }
  return parsed.data;
}

/**
 * Members must exist, and following them from the new feed must never come back to it nor go
 * deeper than MAX_AGGREGATE_DEPTH.
 */
async function checkMembers(table: TableClient, feed: Feed): Promise<void> {
  if (feed.members.includes(feed.name))
    throw new FeedError(`feed "${feed.name}" cannot be its own member`, 400);
  const seen = new Map<string, Feed>();
  const walk = async (names: readonly string[], depth: number, path: string[]): Promise<void> => {
    for (const name of names) {
      if (name === feed.name) {
        throw new FeedError(`members would form a cycle: ${[...path, name].join(' -> ')}`, 400);
      }
      const member = seen.get(name) ?? (await getFeed(table, name));
      if (!member) throw new FeedError(`member feed "${name}" does not exist`, 400);
      if (feed.visibility === 'public' && member.visibility === 'private') {
        throw new FeedError(
          `public feed "${feed.name}" cannot include private feed "${name}": it would make it public`,
          400,
        );
      }
      seen.set(name, member);
      if (member.members.length === 0) continue;
      if (depth >= MAX_AGGREGATE_DEPTH) {
        throw new FeedError(
          `aggregates nest deeper than ${MAX_AGGREGATE_DEPTH} levels at "${name}"`,
          400,
        );
      }
      await walk(member.members, depth + 1, [...path, name]);
    }
  };
  await walk(feed.members, 1, [feed.name]);
}

function toRow(feed: Feed) {
  return {
    partitionKey: FEED_PARTITION,
    rowKey: feed.name,
    visibility: feed.visibility,
    members: JSON.stringify(feed.members),
    retention: JSON.stringify(feed.retention),
    upstreams: JSON.stringify(feed.upstreams),
    mirror: JSON.stringify(feed.mirror ?? null),
  };
}

export async function createFeed(table: TableClient, input: unknown): Promise<Feed> {
  const feed = parseInput(input);
  await checkMembers(table, feed);
  try {
    await table.createEntity(toRow(feed));
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 409) {
      throw new FeedError(`feed "${feed.name}" already exists`, 409);
    }
    throw error;
  }
  return feed;
}

/** Changes the given settings of an existing feed; the rest stay. */
export async function updateFeed(
  table: TableClient,
  name: string,
  changes: Record<string, unknown>,
): Promise<Feed> {
  const current = await getFeed(table, name);
  if (!current) throw new FeedError(`feed "${name}" does not exist`, 404);
  const feed = parseInput({ ...current, ...changes, name });
  await checkMembers(table, feed);
  if (feed.visibility === 'private') {
    const exposing = (await listFeeds(table)).filter(
      (other) => other.visibility === 'public' && other.members.includes(name),
    );
    if (exposing.length > 0) {
      throw new FeedError(
        `feed "${name}" cannot become private while public aggregate "${exposing[0]?.name}" includes it`,
        409,
      );
    }
  }
  // Merge keeps the mirror's cursor, unless the mirror now follows another source.
  const moved = current.mirror?.url !== feed.mirror?.url;
  await table.updateEntity({ ...toRow(feed), ...(moved && { mirrorCursor: '' }) }, 'Merge');
  return feed;
}

/** The commit time of the last source catalog event a mirror feed has done; '' before any. */
export async function getMirrorCursor(table: TableClient, name: string): Promise<string> {
  const row = feedRowSchema.parse(await table.getEntity(FEED_PARTITION, name));
  return row.mirrorCursor;
}

export async function setMirrorCursor(
  table: TableClient,
  name: string,
  cursor: string,
): Promise<void> {
  await table.updateEntity(
    { partitionKey: FEED_PARTITION, rowKey: name, mirrorCursor: cursor },
    'Merge',
  );
}

/** Removes a feed's settings. Its packages stay in storage until deleted; aggregates naming it are refused. */
export async function deleteFeed(table: TableClient, name: string): Promise<void> {
  const users = (await listFeeds(table)).filter((feed) => feed.members.includes(name));
  if (users.length > 0) {
    throw new FeedError(
      `feed "${name}" is a member of ${users.map((f) => `"${f.name}"`).join(', ')}`,
      409,
    );
  }
  try {
    await table.deleteEntity(FEED_PARTITION, name);
  } catch (error) {
    if (isAbsent(error)) {
      throw new FeedError(`feed "${name}" does not exist`, 404);
    }
    throw error;
  }
}

/** Creates the feed unless it exists; an existing feed keeps its settings. */
export async function ensureFeed(table: TableClient, input: FeedInput): Promise<void> {
  try {
    await createFeed(table, input);
  } catch (error) {
    if (error instanceof FeedError && error.status === 409) return;
    throw error;
  }
}
