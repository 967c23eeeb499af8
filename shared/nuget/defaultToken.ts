import { RestError } from '@azure/data-tables';
import { checkToken, createToken, isTokenFormat, Scope } from '../feeds/tokens';
import { StorageClients } from '../storage/clients';

/** The feed `npm start` creates, and what its token may do: push, delete and read. */
export const DEFAULT_FEED = 'default';
const DEFAULT_SCOPES: readonly Scope[] = ['push', 'delete', 'read'];
/** Packages pushed with the start-up token belong to this owner, whichever token it was. */
const DEFAULT_OWNER = 'default';

export class DefaultTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefaultTokenError';
  }
}

/**
 * A push token for the feed `default`, so that `nuget push` works out of the box. A supplied
 * token (SYMFEED_DEFAULT_TOKEN) is stored, hashed, if it is not known yet, and kept stable across restarts; without one a new token is made, whose
 * secret exists only in the return value (only hashes are stored).
 */
export async function ensureDefaultToken(
  storage: StorageClients,
  supplied?: string,
): Promise<{ token: string; created: boolean }> {
  if (supplied === undefined || supplied === '') {
    const { token } = await createToken(storage.tokensTable, {
      feed: DEFAULT_FEED,
      scopes: DEFAULT_SCOPES,
      owner: DEFAULT_OWNER,
    });
    return { token, created: true };
  }
  if (!isTokenFormat(supplied)) {
    throw new DefaultTokenError(
      "SYMFEED_DEFAULT_TOKEN is not a symfeed token: \"sf_\" and 43 base64url characters (make one with: node -e \"console.log('sf_' + require('crypto').randomBytes(32).toString('base64url'))\")",
    );
  }
  const check = await checkToken(storage.tokensTable, supplied);
  if (check.valid) {
    const missing = DEFAULT_SCOPES.filter(
      (scope) => !check.info.scopes.includes(scope) && !check.info.scopes.includes('admin'),
    );
    if (check.info.feed !== DEFAULT_FEED || missing.length > 0) {
      throw new DefaultTokenError(
        `SYMFEED_DEFAULT_TOKEN is already a token of feed "${check.info.feed}" with scopes ${check.info.scopes.join(',')}; it must be one of feed "${DEFAULT_FEED}" with ${DEFAULT_SCOPES.join(',')}`,
      );
    }
    return { token: supplied, created: false };
  }
  if (check.reason !== 'unknown') {
    throw new DefaultTokenError(
      `SYMFEED_DEFAULT_TOKEN is ${check.reason}; choose another token or unset it`,
    );
  }
  try {
    await createToken(
      storage.tokensTable,
      { feed: DEFAULT_FEED, scopes: DEFAULT_SCOPES, owner: DEFAULT_OWNER },
      supplied,
    );
  } catch (error) {
    // Another instance starting at the same moment stored it first: the same row.
    if (!(error instanceof RestError && error.statusCode === 409)) throw error;
  }
  return { token: supplied, created: true };
}
