import { createHash, timingSafeEqual } from 'node:crypto';
import { RestError } from '@azure/storage-blob';
import { z } from 'zod';
import { Settings } from '../config/settings';
import { FeedCache } from '../feeds/feedCache';
import { TokenCache } from '../feeds/tokenCache';
import { FeedError, getFeed, listFeeds, shownFeed } from '../feeds/feedTable';
import { DeleteRequestDeps } from '../packages/deletePackage';
import { runRetention } from '../packages/retention';
import {
  deletePackageByUid,
  feedPackages,
  feedSettingsSchema,
  feedTokens,
  issueToken,
  packageStatus,
  problemOf,
  revokeTokenById,
  validate,
  validFeedName,
} from './manage';

/** An admin API request, whatever HTTP host carried it. */
export interface AdminRequest {
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
  readonly authorization: string | null;
  /** The body as it arrives; read only once the caller is known to be the admin, and capped. */
  readonly body: AsyncIterable<Uint8Array> | null;
}

export interface AdminResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly jsonBody?: unknown;
}

interface Outcome {
  readonly status: number;
  readonly body?: unknown;
  /** What changed, for the log: names and ids only, never a secret. */
  readonly audit?: string;
}

/** What the admin API uses: its token, storage, and this process's memory of feeds and packages. */
export interface AdminPorts extends DeleteRequestDeps {
  readonly settings: Pick<Settings, 'SYMFEED_ADMIN_TOKEN'>;
  /**
   * Feeds are created, changed and deleted through it: this process then decides access by the
   * new settings at once, not when its memory of the old ones expires.
   */
  readonly feeds: Pick<FeedCache, 'create' | 'update' | 'delete'>;
  /** Tokens are revoked through it: this process refuses a revoked token at once. */
  readonly tokens: Pick<TokenCache, 'revoke'>;
  readonly hidePackage: (feed: string, packageUid: string) => void;
}

type Operation = (ports: AdminPorts, request: AdminRequest) => Promise<Outcome>;

/**
 * Management bodies are small JSON (a feed's settings with 64 members take 5 KB): a larger one is
 * refused as soon as its bytes pass this, never read whole.
 */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;

class BodyTooLarge extends Error {
  constructor() {
    super(
      `the request body is larger than ${MAX_ADMIN_BODY_BYTES} bytes; management requests are small JSON`,
    );
  }
}

async function bodyText(request: AdminRequest): Promise<string> {
  if (!request.body) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of request.body) {
    bytes += chunk.byteLength;
    // Leaving the loop cancels the stream: the rest is never read.
    if (bytes > MAX_ADMIN_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An absent or blank body reads as {}: the schema then names whatever is missing. */
async function jsonBody(request: AdminRequest): Promise<unknown> {
  const text = await bodyText(request);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FeedError('the request body is not JSON', 400);
  }
}

const param = (request: AdminRequest, name: string): string => request.params[name] ?? '';

const deleteRequestSchema = z
  .object({ reason: z.string().trim().min(1).max(500).optional() })
  .strict();

const operations = {
  async listFeeds({ storage }) {
    return { status: 200, body: { feeds: (await listFeeds(storage.feedsTable)).map(shownFeed) } };
  },

  /** Creates the feed, or changes the settings the body names; the others stay. */
  async putFeed({ storage, feeds }, request) {
    const name = validFeedName(param(request, 'feed'));
    const settings = validate(feedSettingsSchema, await jsonBody(request), 'feed');
    if (await getFeed(storage.feedsTable, name)) {
      const feed = await feeds.update(name, settings);
      return { status: 200, body: shownFeed(feed), audit: `updated feed ${name}` };
    }
    const feed = await feeds.create({ ...settings, name });
    return { status: 201, body: shownFeed(feed), audit: `created feed ${name}` };
  },

  async deleteFeed({ feeds }, request) {
    const name = validFeedName(param(request, 'feed'));
    await feeds.delete(name);
    return { status: 204, audit: `deleted feed ${name}` };
  },

  async createToken({ storage }, request) {
    const { token, info } = await issueToken(
      storage,
      param(request, 'feed'),
      await jsonBody(request),
    );
    return {
      status: 201,
      body: { token, ...info },
      audit: `created token ${info.id} of feed ${info.feed} (${info.scopes.join(',')})`,
    };
  },

  async listTokens({ storage }, request) {
    return { status: 200, body: { tokens: await feedTokens(storage, param(request, 'feed')) } };
  },

  async revokeToken({ tokens }, request) {
    const info = await revokeTokenById(tokens, param(request, 'id'));
    return { status: 200, body: info, audit: `revoked token ${info.id} of feed ${info.feed}` };
  },

  async listPackages({ storage }, request) {
    const { query } = request;
    const list = await feedPackages(storage, param(request, 'feed'), {
      state: query.get('state') || undefined,
      top: query.get('top') || undefined,
      continuation: query.get('continuation') || undefined,
    });
    return { status: 200, body: list };
  },

  async showPackage({ storage }, request) {
    return {
      status: 200,
      body: await packageStatus(storage, param(request, 'feed'), param(request, 'uid')),
    };
  },

  /** What retention would delete now, and why; nothing is deleted. */
  async retentionPlan({ storage }, request) {
    const plan = await runRetention(storage, validFeedName(param(request, 'feed')), {
      dryRun: true,
    });
    return { status: 200, body: { plan } };
  },

  async deletePackage(ports, request) {
    const { reason } = validate(deleteRequestSchema, await jsonBody(request), 'delete request');
    const feed = param(request, 'feed');
    const uid = param(request, 'uid');
    const outcome = await deletePackageByUid(
      ports,
      feed,
      uid,
      reason ?? 'deleted through the admin API',
    );
    return outcome === 'queued'
      ? { status: 202, body: { feed, uid, outcome }, audit: `queued the delete of ${feed}/${uid}` }
      : { status: 200, body: { feed, uid, outcome } };
  },
} satisfies Record<string, Operation>;

export type AdminOperation = keyof typeof operations;

const NO_STORE = { 'Cache-Control': 'no-store' };

function fail(status: number, error: string, headers: Record<string, string> = {}): AdminResponse {
  return { status, headers: { ...NO_STORE, ...headers }, jsonBody: { error } };
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The admin token authorises everything. Both sides are hashed first so that the comparison takes
 * the same time whatever was presented, its length included.
 */
function unauthorised(expected: string, authorization: string | null): AdminResponse | undefined {
  const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
  if (presented !== undefined && timingSafeEqual(digest(presented), digest(expected))) {
    return undefined;
  }
  return presented === undefined
    ? fail(401, 'the admin API needs the admin token as a bearer token', {
        'WWW-Authenticate': 'Bearer realm="symfeed admin"',
      })
    : fail(401, 'the bearer token is not the admin token', {
        'WWW-Authenticate': 'Bearer realm="symfeed admin", error="invalid_token"',
      });
}

/**
 * Runs one admin operation for an authorised caller. Log lines name the operation, the status and
 * what changed, never a token or anything else the caller sent: a secret pasted where an id
 * belongs must not end up in the log.
 */
export async function handleAdmin(
  ports: AdminPorts,
  operation: AdminOperation,
  request: AdminRequest,
  log: (line: string) => void,
): Promise<AdminResponse> {
  const expected = ports.settings.SYMFEED_ADMIN_TOKEN;
  if (expected === undefined) {
    return fail(503, 'the admin API is off; set SYMFEED_ADMIN_TOKEN to turn it on');
  }
  const denied = unauthorised(expected, request.authorization);
  if (denied) {
    log(`admin ${operation}: ${denied.status}`);
    return denied;
  }
  try {
    const run: Operation = operations[operation];
    const outcome = await run(ports, request);
    log(`admin ${operation}: ${outcome.status}${outcome.audit ? `, ${outcome.audit}` : ''}`);
    return {
      status: outcome.status,
      headers: NO_STORE,
      ...(outcome.body === undefined ? {} : { jsonBody: outcome.body }),
    };
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      log(`admin ${operation}: 413`);
      return fail(413, error.message);
    }
    const problem = problemOf(error);
    if (problem) {
      log(`admin ${operation}: ${problem.status}`);
      return fail(problem.status, problem.message);
    }
    if (error instanceof RestError) {
      log(`admin ${operation}: 503, storage: ${error.message}`);
      return fail(503, 'storage is unavailable; retry shortly', { 'Retry-After': '5' });
    }
    throw error;
  }
}
