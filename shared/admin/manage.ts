import { z } from 'zod';
import { feedNameSchema } from '../feeds/feedName';
import { FeedError, feedInputSchema, getFeed } from '../feeds/feedTable';
import { createToken, listTokens, parseLifetime, scopeSchema, TokenInfo } from '../feeds/tokens';
import { TokenCache } from '../feeds/tokenCache';
import {
  deleteMessageSchema,
  DeleteRequestDeps,
  PackageNotFoundError,
  requestDelete,
} from '../packages/deletePackage';
import { listedPackage, ListedPackage } from '../packages/package';
import { listPackagePage, PackageRow } from '../packages/packageTable';
import { PACKAGE_STATES } from '../packages/states';
import { DisplayedStatus, readDisplayedStatus } from '../packages/statusDocument';
import { StorageClients } from '../storage/clients';

/**
 * What the CLI and the admin API both do to feeds, tokens and packages, over the domain
 * functions: each input is validated here once, whichever of the two it came through.
 */

/** The status and message of an error the caller caused, or undefined for anything else. */
export function problemOf(
  error: unknown,
): { status: 400 | 404 | 409; message: string } | undefined {
  if (error instanceof FeedError) return { status: error.status, message: error.message };
  if (error instanceof PackageNotFoundError) return { status: 404, message: error.message };
  return undefined;
}

/** Parses with a schema, turning the first problem into a 400 that names the field. */
export function validate<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new FeedError(`invalid ${what}: ${where}${issue?.message ?? 'unknown problem'}`, 400);
}

const { visibility, members, retention, upstreams, mirror } = feedInputSchema.shape;
/**
 * The settings of a feed, each optional: a change names only what it changes. The domain's
 * defaults are taken off, because zod would fill them into absent fields and an update of one
 * setting would reset the others.
 */
export const feedSettingsSchema = z
  .object({
    visibility: visibility.unwrap().optional(),
    members: members.unwrap().optional(),
    retention: retention.unwrap().optional(),
    upstreams: upstreams.unwrap().optional(),
    mirror,
  })
  .strict();
export type FeedSettings = z.infer<typeof feedSettingsSchema>;

const tokenRequestSchema = z
  .object({
    scopes: z.array(scopeSchema).min(1, 'at least one scope is needed'),
    expires: z
      .string()
      .refine((text) => parseLifetime(text) !== undefined, {
        message: 'a lifetime is a number and d, h or m, such as "90d"',
      })
      .optional(),
    owner: z.string().trim().min(1).max(128).optional(),
  })
  .strict();

const packageUidSchema = deleteMessageSchema.shape.packageUid;
const packageStateSchema = z.enum(PACKAGE_STATES);

export function validFeedName(name: string): string {
  return validate(feedNameSchema, name, 'feed name');
}

async function existingFeed(storage: StorageClients, name: string): Promise<void> {
  if (!(await getFeed(storage.feedsTable, validFeedName(name)))) {
    throw new FeedError(`feed "${name}" does not exist`, 404);
  }
}

/**
 * Tokens and packages outlive a deleted feed, and listing them is how they are found and cleaned
 * up; only an empty listing of a feed that does not exist is an error (most likely a typo).
 */
async function listedUnderFeed<T>(storage: StorageClients, feed: string, items: T[]): Promise<T[]> {
  if (items.length === 0) await existingFeed(storage, feed);
  return items;
}

/** Makes a token of an existing feed; the secret in the answer is the only copy there is. */
export async function issueToken(
  storage: StorageClients,
  feed: string,
  request: unknown,
): Promise<{ token: string; info: TokenInfo }> {
  await existingFeed(storage, feed);
  const { scopes, expires, owner } = validate(tokenRequestSchema, request, 'token request');
  return createToken(storage.tokensTable, {
    feed,
    scopes,
    owner,
    expiresAt: expires === undefined ? undefined : parseLifetime(expires),
  });
}

export async function feedTokens(storage: StorageClients, feed?: string): Promise<TokenInfo[]> {
  if (feed === undefined) return listTokens(storage.tokensTable);
  return listedUnderFeed(storage, feed, await listTokens(storage.tokensTable, validFeedName(feed)));
}

/** Through the process's token memory, so that this process refuses the token at once. */
export async function revokeTokenById(
  tokens: Pick<TokenCache, 'revoke'>,
  id: string,
): Promise<TokenInfo> {
  const info = await tokens.revoke(id.trim().toLowerCase());
  if (!info) throw new FeedError(`no token has the id "${id}"; token list shows them`, 404);
  return info;
}

/** One package as the admin listings show it; the status document has the rest. */
export type PackageSummary = ListedPackage &
  Pick<PackageRow, 'stateChangedAt' | 'keyCount' | 'errorCount' | 'warningCount'>;

export function summary(row: PackageRow): PackageSummary {
  const { stateChangedAt, keyCount, errorCount, warningCount } = row;
  return { ...listedPackage(row), stateChangedAt, keyCount, errorCount, warningCount };
}

/** Packages an answer lists at most, unless the caller asks for fewer. */
export const PACKAGE_PAGE = 1000;

/**
 * A continuation token of the table SDK: base64 of the JSON of where storage said the next page
 * starts, in storage's own opaque form. The query's filter keeps a page inside the feed named,
 * whatever a token says.
 */
const continuationSchema = z
  .string()
  .max(2048)
  .refine(
    (token) => {
      try {
        const next: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
        return typeof (next as { nextPartitionKey?: unknown }).nextPartitionKey === 'string';
      } catch {
        return false;
      }
    },
    { message: 'not a continuation that a package list gave' },
  );

const topSchema = z.coerce.number().int().min(1).max(PACKAGE_PAGE).default(PACKAGE_PAGE);

export interface PackageList {
  readonly packages: PackageSummary[];
  /** Asks for the next page; absent after the last. */
  readonly continuation?: string;
}

/**
 * One page of a feed's packages, in uid order: never the whole partition at once, so a feed of
 * 100,000 packages answers as fast as a feed of ten.
 */
export async function feedPackages(
  storage: StorageClients,
  feed: string,
  query: {
    state?: string | undefined;
    top?: string | number | undefined;
    continuation?: string | undefined;
  } = {},
): Promise<PackageList> {
  const name = validFeedName(feed);
  const state =
    query.state === undefined ? undefined : validate(packageStateSchema, query.state, 'state');
  const top = validate(topSchema, query.top, 'top');
  const continuation =
    query.continuation === undefined
      ? undefined
      : validate(continuationSchema, query.continuation, 'continuation');
  const page = await listPackagePage(storage.packagesTable, name, {
    ...(state === undefined ? {} : { state }),
    top,
    ...(continuation === undefined ? {} : { continuation }),
  });
  const packages = page.rows.map(summary);
  if (page.continuation !== undefined) return { packages, continuation: page.continuation };
  return {
    packages:
      continuation === undefined ? await listedUnderFeed(storage, feed, packages) : packages,
  };
}

export async function packageStatus(
  storage: StorageClients,
  feed: string,
  uid: string,
): Promise<DisplayedStatus> {
  const doc = await readDisplayedStatus(
    storage.statusContainer,
    validFeedName(feed),
    validate(packageUidSchema, uid, 'package uid'),
  );
  if (!doc) throw new PackageNotFoundError(feed, uid);
  return doc;
}

/** Queues the delete; 'already' when the package is deleted or on its way. */
export async function deletePackageByUid(
  deps: DeleteRequestDeps,
  feed: string,
  uid: string,
  reason: string,
): Promise<'queued' | 'already'> {
  return requestDelete(
    deps,
    validate(deleteMessageSchema, { feed, packageUid: uid, reason }, 'delete request'),
  );
}
