import { Readable } from 'node:stream';
import { Settings } from '../config/settings';
import { credentialsFrom, Credentials } from '../feeds/access';
import { Scope } from '../feeds/tokens';
import { isStorageFailure, StorageClients } from '../storage/clients';
import { parseSubfeed, Subfeed } from './subfeed';
import { authorizeSubfeed, SubfeedAccessPorts } from './subfeedAccess';

/** A NuGet API request, whatever HTTP host carried it. */
export interface NuGetRequest {
  readonly method: string;
  /** The full request URL; service documents point back at its origin without SYMFEED_PUBLIC_URL. */
  readonly url: string;
  /** The `{feed}` or `{feed},{own|all},{state}` path segment. */
  readonly feedSegment: string;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
  header(name: string): string | null;
  /** The request body, read at most once and only after the caller is authorised. */
  body(): Readable;
}

export interface NuGetResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer | Readable;
  /** For the log, never sent: why symfeed failed this answer (5xx). */
  readonly cause?: string;
}

/** What reading a (sub)feed over NuGet uses: access, listings and downloads, and where links point. */
export interface NuGetReadPorts extends SubfeedAccessPorts {
  readonly storage: StorageClients;
  readonly settings: Pick<Settings, 'SYMFEED_PUBLIC_URL'>;
}

/**
 * Listings change with every push, delete and access change, and NuGet clients keep their own
 * cache: nothing of the NuGet API is for shared caches to keep.
 */
export const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/**
 * NuGet clients print the `X-NuGet-Warning` header of any response (the reason phrase, which
 * nuget.org uses, cannot be set from Azure Functions), so every refusal carries its message there
 * as well as in the body.
 */
export function message(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): NuGetResponse {
  return {
    status,
    headers: {
      ...NO_STORE,
      'Content-Type': 'text/plain; charset=utf-8',
      // Header values must be one line of visible ASCII.
      'X-NuGet-Warning': text.replace(/[^\x20-\x7e]/g, '?'),
      ...headers,
    },
    body: `${text}\n`,
  };
}

export function json(document: unknown, headers: Record<string, string> = {}): NuGetResponse {
  return jsonText(JSON.stringify(document), headers);
}

/** A JSON answer already serialized (UTF-8 when bytes). */
export function jsonText(
  text: string | Buffer,
  headers: Record<string, string> = {},
): NuGetResponse {
  return {
    status: 200,
    headers: { ...NO_STORE, 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: text,
  };
}

export const STORAGE_UNAVAILABLE = {
  message: 'Package storage is unavailable; retry shortly.',
  headers: { 'Retry-After': '5' },
} as const;

/**
 * Storage that does not answer is a passing fault of the server, not of the request: 503 with
 * Retry-After, which NuGet clients retry, rather than a 500.
 */
export async function answeringStorageFaults(
  respond: () => Promise<NuGetResponse>,
): Promise<NuGetResponse> {
  try {
    return await respond();
  } catch (error) {
    if (isStorageFailure(error)) {
      return {
        ...message(503, STORAGE_UNAVAILABLE.message, STORAGE_UNAVAILABLE.headers),
        cause: `storage: ${(error as Error).message}`,
      };
    }
    throw error;
  }
}

/**
 * Where links point: SYMFEED_PUBLIC_URL, else the origin the request names. The Host header is
 * the caller's to forge, so that fallback is allowed only outside Azure (see parseSettings).
 */
export function publicBase(
  settings: Pick<Settings, 'SYMFEED_PUBLIC_URL'>,
  requestUrl: string,
): string {
  return settings.SYMFEED_PUBLIC_URL ?? new URL(requestUrl).origin;
}

/** The base of every URL of one (sub)feed's NuGet API. */
export function apiBase(
  settings: Pick<Settings, 'SYMFEED_PUBLIC_URL'>,
  request: NuGetRequest,
): string {
  return `${publicBase(settings, request.url)}/F/${request.feedSegment}/api`;
}

/** Credentials a NuGet client presents: the API key for writes, else its source credentials. */
export function nugetCredentials(request: NuGetRequest): Credentials {
  const apiKey = request.header('x-nuget-apikey');
  if (apiKey) return { kind: 'token', token: apiKey.trim() };
  return credentialsFrom(request.header('authorization'));
}

export type Access =
  { ok: true; subfeed: Subfeed; owner?: string } | { ok: false; response: NuGetResponse };

/** Parses the feed segment and decides whether the caller may use it for `scope`. */
export async function access(
  ports: SubfeedAccessPorts,
  request: NuGetRequest,
  scope: Scope,
): Promise<Access> {
  const parsed = parseSubfeed(request.feedSegment);
  if (!parsed.ok) return { ok: false, response: message(404, `No such feed: ${parsed.reason}.`) };
  const decision = await authorizeSubfeed(ports, parsed.subfeed, nugetCredentials(request), scope);
  if (!decision.ok) {
    // A challenge makes clients ask the user for a password; a write needs an API key instead.
    const write = scope !== 'read';
    const text =
      write && decision.status === 401
        ? `${decision.message} Pass a token of feed "${parsed.subfeed.feed}" with the ${scope} scope as the API key.`
        : decision.message;
    return {
      ok: false,
      response: message(
        decision.status,
        text,
        decision.challenge && !write ? { 'WWW-Authenticate': decision.challenge } : {},
      ),
    };
  }
  return decision.owner === undefined
    ? { ok: true, subfeed: parsed.subfeed }
    : { ok: true, subfeed: parsed.subfeed, owner: decision.owner };
}
