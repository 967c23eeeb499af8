import { RestError } from '@azure/data-tables';
import { checkToken, createToken, listTokens, Scope, TokenInfo } from '../feeds/tokens';
import { StorageClients } from '../storage/clients';

/** The feed `npm start` creates, and what its token may do: push, delete and read. */
export const DEFAULT_FEED = 'default';
const DEFAULT_SCOPES: readonly Scope[] = ['push', 'delete', 'read'];
/** Packages pushed with the start-up token belong to this owner, whichever token it was. */
const DEFAULT_OWNER = 'default';
/** Marks the token `npm start` made, so that the next start finds it. */
const START_LABEL = 'npm start';
/** A token `npm start` makes lasts this long... */
export const DEFAULT_TOKEN_LIFETIME_DAYS = 30;
/** ...and is replaced by the start that finds it with less than this left. */
const RENEW_WITHIN_MS = 24 * 3_600_000;

export class DefaultTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefaultTokenError';
  }
}

/**
 * The push token of `npm start`: the one configured, one made by an earlier start (its secret was
 * printed then and only its hash is stored, so it cannot be shown again), or a new one.
 */
export type DefaultToken =
  | { readonly kind: 'configured'; readonly info: TokenInfo }
  | { readonly kind: 'kept'; readonly info: TokenInfo }
  | { readonly kind: 'made'; readonly token: string; readonly info: TokenInfo };

/**
 * A push token for the feed `default`, so that `nuget push` works out of the box. A configured
 * token (SYMFEED_DEFAULT_TOKEN, already of the token form) is stored, hashed, if it is not known
 * yet, and never expires. Without one, the token an earlier start made is kept while it has more
 * than a day left; otherwise a new one is made, valid for DEFAULT_TOKEN_LIFETIME_DAYS.
 */
export async function ensureDefaultToken(
  storage: StorageClients,
  configured?: string,
  now = new Date(),
): Promise<DefaultToken> {
  if (configured !== undefined) {
    return { kind: 'configured', info: await storeConfigured(storage, configured, now) };
  }
  const kept = await startToken(storage, now);
  if (kept) return { kind: 'kept', info: kept };
  const { token, info } = await createToken(storage.tokensTable, {
    feed: DEFAULT_FEED,
    scopes: DEFAULT_SCOPES,
    owner: DEFAULT_OWNER,
    expiresAt: new Date(now.getTime() + DEFAULT_TOKEN_LIFETIME_DAYS * 86_400_000),
    label: START_LABEL,
  });
  return { kind: 'made', token, info };
}

/** The token an earlier start made that lasts longest, if it is valid for another day. */
async function startToken(storage: StorageClients, now: Date): Promise<TokenInfo | undefined> {
  const renewAfter = now.getTime() + RENEW_WITHIN_MS;
  const usable = (await listTokens(storage.tokensTable, DEFAULT_FEED)).filter(
    (info) =>
      info.label === START_LABEL &&
      !info.revoked &&
      info.expiresAt !== undefined &&
      new Date(info.expiresAt).getTime() > renewAfter,
  );
  return usable.sort((a, b) => (b.expiresAt ?? '').localeCompare(a.expiresAt ?? ''))[0];
}

async function storeConfigured(
  storage: StorageClients,
  token: string,
  now: Date,
): Promise<TokenInfo> {
  const check = await checkToken(storage.tokensTable, token, now);
  if (check.valid) {
    const missing = DEFAULT_SCOPES.filter(
      (scope) => !check.info.scopes.includes(scope) && !check.info.scopes.includes('admin'),
    );
    if (check.info.feed !== DEFAULT_FEED || missing.length > 0) {
      throw new DefaultTokenError(
        `SYMFEED_DEFAULT_TOKEN is already a token of feed "${check.info.feed}" with scopes ${check.info.scopes.join(',')}; it must be one of feed "${DEFAULT_FEED}" with ${DEFAULT_SCOPES.join(',')}`,
      );
    }
    return check.info;
  }
  if (check.reason !== 'unknown') {
    throw new DefaultTokenError(
      `SYMFEED_DEFAULT_TOKEN is ${check.reason}; choose another token or unset it`,
    );
  }
  try {
    const { info } = await createToken(
      storage.tokensTable,
      { feed: DEFAULT_FEED, scopes: DEFAULT_SCOPES, owner: DEFAULT_OWNER },
      token,
    );
    return info;
  } catch (error) {
    // Another instance starting at the same moment stored it first: the same row.
    if (!(error instanceof RestError && error.statusCode === 409)) throw error;
    return storeConfigured(storage, token, now);
  }
}
