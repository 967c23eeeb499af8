import { odata, RestError } from '@azure/data-tables';
import { z } from 'zod';
import { authorize, credentialsFrom, TokenLookup } from '../feeds/access';
import { FeedCache } from '../feeds/feedCache';
import { feedNameSchema } from '../feeds/feedName';
import { Feed, FeedError, listFeeds, shownFeed, ShownFeed } from '../feeds/feedTable';
import { TokenInfo } from '../feeds/tokens';
import { PackageSummary, problemOf, summary, validate } from '../admin/manage';
import { PackageNotFoundError } from '../packages/deletePackage';
import { listPackagePage } from '../packages/packageTable';
import { readDisplayedStatus } from '../packages/statusDocument';
import { PACKAGE_STATES } from '../packages/states';
import { isStorageFailure, StorageClients } from '../storage/clients';
import { FLUSH_MS, MissedKey, mostMissed, readMissedKeys } from '../misses/missedKeys';
import { ClientSetup, clientSetup } from './clientSetup';
import { lookUp } from './lookup';
import { parseLookup } from './lookupInput';

/** A request of the web page's JSON API, whatever HTTP host carried it. */
export interface UiRequest {
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
  readonly authorization: string | null;
  /** The app's own URL (scheme, host, port), for the URLs the page shows. */
  readonly baseUrl: string;
}

export interface UiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly jsonBody?: unknown;
  /** A download (the missing symbols as CSV) in place of JSON. */
  readonly body?: string;
}

/** What the page's API reads: feeds and tokens through the process's caches, and storage. */
export interface UiPorts {
  readonly storage: Pick<
    StorageClients,
    | 'feedsTable'
    | 'packagesTable'
    | 'statusContainer'
    | 'symbolKeysTable'
    | 'symbolNamesTable'
    | 'missesContainer'
  >;
  readonly feeds: Pick<FeedCache, 'feed' | 'leafMembers'>;
  readonly tokens: TokenLookup;
}

/** Rows a package listing reads per answer; the page asks for the next ones with `next`. */
export const PACKAGE_PAGE_ROWS = 100;
/** Rows a feed's counts read at most: past that the page says "at least". */
export const COUNTED_ROWS = 1_000;

/**
 * The answer for a feed that does not exist and for one the caller may not read: the same, and
 * naming nothing, so that no answer tells a private feed is there.
 */
function hidden(): FeedError {
  return new FeedError(
    'no such feed that you may read: a private feed needs a token of its own (Sign in)',
    404,
  );
}

/** The feed if the caller may read it; a private feed's existence is never told otherwise. */
async function readableFeed(ports: UiPorts, request: UiRequest): Promise<Feed> {
  const name = request.params.feed ?? '';
  if (!feedNameSchema.safeParse(name).success) throw hidden();
  const feed = await ports.feeds.feed(name);
  if (!feed) throw hidden();
  const access = await authorize(
    ports.tokens,
    feed,
    'read',
    credentialsFrom(request.authorization),
  );
  if (!access.ok) throw hidden();
  return feed;
}

export interface FeedCounts {
  readonly packages: number;
  readonly keys: number;
  readonly bytes: number;
  readonly byState: Readonly<Record<string, number>>;
  /** False when the feed has more packages than were counted: the numbers are then "at least". */
  readonly complete: boolean;
}

/** Counts over the first COUNTED_ROWS packages, in one query of three columns. */
async function feedCounts(ports: UiPorts, feed: Feed): Promise<FeedCounts> {
  const pages = ports.storage.packagesTable
    .listEntities<{ state: string; size: number; keyCount: number }>({
      queryOptions: {
        filter: odata`PartitionKey eq ${feed.name}`,
        select: ['state', 'size', 'keyCount'],
      },
    })
    .byPage({ maxPageSize: COUNTED_ROWS });
  const { value: rows = [] } = await pages.next();
  const byState: Record<string, number> = {};
  let keys = 0;
  let bytes = 0;
  for (const row of rows) {
    byState[row.state] = (byState[row.state] ?? 0) + 1;
    keys += row.keyCount ?? 0;
    bytes += row.size ?? 0;
  }
  return {
    packages: rows.length,
    keys,
    bytes,
    byState,
    complete: !rows.continuationToken,
  };
}

export interface UiFeed extends ShownFeed {
  readonly setup: ClientSetup;
}

function uiFeed(feed: Feed, baseUrl: string): UiFeed {
  return {
    ...shownFeed(feed),
    setup: clientSetup(baseUrl, feed.name, feed.visibility === 'private'),
  };
}

const packagesQuerySchema = z
  .object({
    state: z.enum(PACKAGE_STATES).optional(),
    owner: z.string().max(128).optional(),
    id: z.string().trim().max(256).optional(),
    next: z.string().max(2048).optional(),
  })
  .strict();

const lookupQuerySchema = z.object({ q: z.string().max(2048) }).strict();

const uidSchema = z.string().regex(/^[0-9a-f]{32}$/, 'a package uid is 32 hex digits');

type Outcome = {
  readonly status: number;
  readonly body: unknown;
  readonly csv?: { readonly text: string; readonly filename: string };
};

const missingQuerySchema = z.object({ format: z.enum(['json', 'csv']).optional() }).strict();
/** The keys shown per period; the CSV holds the same. */
export const MISSED_KEYS_SHOWN = 100;

/**
 * Anyone may ask a public feed for any key, so a key is data, never a spreadsheet formula: one
 * that starts like a formula gets a leading apostrophe.
 */
function csvField(text: string): string {
  const inert = /^[=+\-@\t]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(inert) ? `"${inert.replace(/"/g, '""')}"` : inert;
}

function missedCsv(periods: Record<string, readonly MissedKey[]>): string {
  const lines = ['period,key,count,lastSeen'];
  for (const [period, keys] of Object.entries(periods)) {
    for (const { key, count, lastSeen } of keys) {
      lines.push([period, csvField(key), String(count), lastSeen].join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
type Operation = (ports: UiPorts, request: UiRequest) => Promise<Outcome>;

const operations = {
  /** Who the presented token is, for signing in: its feed, scopes, owner and expiry. */
  async whoami({ tokens }, request) {
    const credentials = credentialsFrom(request.authorization);
    if (credentials.kind !== 'token') {
      return { status: 401, body: { error: 'sign in with a feed token' } };
    }
    const check = await tokens.check(credentials.token);
    if (!check.valid) return { status: 401, body: { error: `the token is ${check.reason}` } };
    const { feed, scopes, owner, expiresAt }: TokenInfo = check.info;
    return { status: 200, body: { feed, scopes, owner, ...(expiresAt && { expiresAt }) } };
  },

  /** The feeds the caller may read: every public one, and the private one its token opens. */
  async feeds(ports, request) {
    const credentials = credentialsFrom(request.authorization);
    const readable: UiFeed[] = [];
    for (const feed of await listFeeds(ports.storage.feedsTable)) {
      if ((await authorize(ports.tokens, feed, 'read', credentials)).ok) {
        readable.push(uiFeed(feed, request.baseUrl));
      }
    }
    return { status: 200, body: { feeds: readable } };
  },

  async feed(ports, request) {
    const feed = await readableFeed(ports, request);
    return {
      status: 200,
      body: { ...uiFeed(feed, request.baseUrl), counts: await feedCounts(ports, feed) },
    };
  },

  async packages(ports, request) {
    const feed = await readableFeed(ports, request);
    const query = validate(packagesQuerySchema, Object.fromEntries(request.query), 'query');
    const filter = {
      ...(query.state && { state: query.state }),
      ...(query.owner !== undefined && query.owner !== '' && { owner: query.owner }),
      ...(query.id && { idPrefix: query.id }),
    };
    const page = await listPackagePage(ports.storage.packagesTable, feed.name, {
      ...filter,
      top: PACKAGE_PAGE_ROWS,
      ...(query.next !== undefined && { continuation: query.next }),
    }).catch((error: unknown) => {
      // A token the table cannot read is the caller's; anything else is storage's.
      if (query.next !== undefined && !(error instanceof RestError && error.statusCode !== 400)) {
        throw new FeedError('invalid query: next is not a token this listing gave', 400);
      }
      throw error;
    });
    const packages: PackageSummary[] = page.rows.map(summary);
    return {
      status: 200,
      body: { packages, ...(page.continuation && { next: page.continuation }) },
    };
  },

  async lookup(ports, request) {
    const feed = await readableFeed(ports, request);
    const { q } = validate(lookupQuerySchema, Object.fromEntries(request.query), 'query');
    const input = parseLookup(q);
    if (input.kind === 'invalid') throw new FeedError(input.reason, 400);
    return { status: 200, body: await lookUp(ports, feed, input) };
  },

  /** The keys most asked for in vain, over the last 24 hours and 7 days. */
  async missing(ports, request) {
    const feed = await readableFeed(ports, request);
    const { format } = validate(missingQuerySchema, Object.fromEntries(request.query), 'query');
    const { day, week } = await readMissedKeys(ports.storage.missesContainer, feed.name);
    const periods = {
      '24h': mostMissed(day, MISSED_KEYS_SHOWN),
      '7d': mostMissed(week, MISSED_KEYS_SHOWN),
    };
    const body = { ...periods, flushSeconds: FLUSH_MS / 1000 };
    if (format !== 'csv') return { status: 200, body };
    return {
      status: 200,
      body,
      csv: { text: missedCsv(periods), filename: `${feed.name}-missing-symbols.csv` },
    };
  },

  async package(ports, request) {
    const feed = await readableFeed(ports, request);
    const uid = validate(uidSchema, request.params.uid ?? '', 'package uid');
    const doc = await readDisplayedStatus(ports.storage.statusContainer, feed.name, uid);
    if (!doc) throw new PackageNotFoundError(feed.name, uid);
    return { status: 200, body: doc };
  },
} satisfies Record<string, Operation>;

export type UiOperation = keyof typeof operations;

/**
 * Nothing the page's API answers is cached anywhere: what a token opens must not be kept for
 * whoever comes next.
 */
const HEADERS = { 'Cache-Control': 'no-store', Vary: 'Authorization' };

export async function handleUi(
  ports: UiPorts,
  operation: UiOperation,
  request: UiRequest,
): Promise<UiResponse> {
  try {
    const run: Operation = operations[operation];
    const { status, body, csv } = await run(ports, request);
    if (csv) {
      return {
        status,
        headers: {
          ...HEADERS,
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="${csv.filename}"`,
        },
        body: csv.text,
      };
    }
    return { status, headers: HEADERS, jsonBody: body };
  } catch (error) {
    const problem = problemOf(error);
    if (problem) {
      return { status: problem.status, headers: HEADERS, jsonBody: { error: problem.message } };
    }
    if (isStorageFailure(error)) {
      return {
        status: 503,
        headers: { ...HEADERS, 'Retry-After': '5' },
        jsonBody: { error: 'storage is unavailable; retry shortly' },
      };
    }
    throw error;
  }
}
