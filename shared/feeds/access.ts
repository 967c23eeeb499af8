import { Feed } from './feedTable';
import { TokenCache } from './tokenCache';
import { Scope, TokenInfo, TOKENS_IN_TEXT } from './tokens';

/** How access looks a presented token up. */
export type TokenLookup = Pick<TokenCache, 'check'>;

/** What a request presents: a token from the path, HTTP Basic (password) or a bearer token. */
export type Credentials =
  { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'malformed'; reason: string };

/** Reads credentials without ever echoing them: messages say what is wrong, not what was sent. */
export function credentialsFrom(
  authorization: string | null | undefined,
  pathToken?: string,
): Credentials {
  if (pathToken !== undefined) return { kind: 'token', token: pathToken };
  if (!authorization) return { kind: 'none' };
  const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme) && value) return { kind: 'token', token: value };
  if (/^basic$/i.test(scheme)) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
      return { kind: 'malformed', reason: 'the Basic credentials are not base64' };
    }
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      return { kind: 'malformed', reason: 'the Basic credentials have no "user:password" form' };
    return { kind: 'token', token: decoded.slice(colon + 1) };
  }
  return {
    kind: 'malformed',
    reason: `the ${scheme || 'empty'} authorization scheme is not supported; use Basic or Bearer`,
  };
}

export type AccessDecision =
  | { ok: true; owner?: string }
  | { ok: false; status: 401 | 403; message: string; challenge?: string };

function challenge(feed: Feed): string {
  return `Basic realm="symfeed feed ${feed.name}", charset="UTF-8"`;
}

const REASONS = {
  malformed: 'the token is not a symfeed token',
  unknown: 'the token is not known',
  revoked: 'the token has been revoked',
  expired: 'the token has expired',
} as const;

/**
 * Who the credentials name on a feed: a valid, unrevoked, unexpired token of this very feed, or
 * the refusal to send (401 for no or bad credentials, 403 for another feed's token).
 */
export async function identify(
  tokens: TokenLookup,
  feed: Feed,
  credentials: Credentials,
): Promise<{ ok: true; info: TokenInfo } | (AccessDecision & { ok: false })> {
  if (credentials.kind === 'none') {
    return {
      ok: false,
      status: 401,
      message: `Feed "${feed.name}" needs a token.`,
      challenge: challenge(feed),
    };
  }
  if (credentials.kind === 'malformed') {
    return {
      ok: false,
      status: 401,
      message: `Not authorised: ${credentials.reason}.`,
      challenge: challenge(feed),
    };
  }
  const check = await tokens.check(credentials.token);
  if (!check.valid) {
    return {
      ok: false,
      status: 401,
      message: `Not authorised: ${REASONS[check.reason]}.`,
      challenge: challenge(feed),
    };
  }
  if (check.info.feed !== feed.name) {
    return {
      ok: false,
      status: 403,
      message: `The token is for another feed, not "${feed.name}".`,
    };
  }
  return { ok: true, info: check.info };
}

export function hasScope(info: TokenInfo, scope: Scope): boolean {
  return info.scopes.includes(scope) || info.scopes.includes('admin');
}

/**
 * A feed is exactly as open as its visibility: anyone reads a public feed; everything else needs a
 * token of this very feed with the scope (or admin). An aggregate's token reads through the
 * aggregate only, never its members directly.
 */
export async function authorize(
  tokens: TokenLookup,
  feed: Feed,
  scope: Scope,
  credentials: Credentials,
): Promise<AccessDecision> {
  if (scope === 'read' && feed.visibility === 'public') return { ok: true };
  const who = await identify(tokens, feed, credentials);
  if (!who.ok) return who;
  if (!hasScope(who.info, scope)) {
    return {
      ok: false,
      status: 403,
      message: `The token lacks the "${scope}" scope on feed "${feed.name}".`,
    };
  }
  return { ok: true, owner: who.info.owner };
}

/**
 * A URL, or any text holding one (an error's stack), fit for a log line: what follows `/auth/` up
 * to the end of its path segment is replaced, wherever the segment stands, and so is anything of
 * the token form, so logs never hold a token.
 */
export function redactUrl(text: string): string {
  return text
    .replace(/\/auth\/[^/?#\s]+/gi, '/auth/[redacted]')
    .replace(TOKENS_IN_TEXT, '[redacted token]');
}
