import { TableClient } from '@azure/data-tables';
import { RefreshingCache } from '../util/refreshingCache';
import { FEED_SETTINGS_SECONDS } from './feedCache';
import {
  findToken,
  hashToken,
  isTokenFormat,
  revokeToken,
  TokenCheck,
  TokenInfo,
  validity,
} from './tokens';

const MAX_CACHED_TOKENS = 10_000;
/**
 * The bound within which a revocation made elsewhere (another instance, the CLI) reaches this
 * process: the same as for feed settings, so that no access change takes longer than the other.
 */
export const TOKEN_SECONDS = FEED_SETTINGS_SECONDS;

/**
 * This process's memory of verified tokens, keyed by the token's hash, never the token: a private
 * feed's request would otherwise make a storage read before its first byte, every time. Only valid
 * tokens are remembered, so a token made a moment ago works at once; refusals are looked up each
 * time. Revocations made here go through the cache and forget at once. A token in use is read
 * again in the background before the bound, so its requests do not wait on that read.
 */
export class TokenCache {
  private readonly tokens: RefreshingCache<TokenCheck>;

  constructor(private readonly table: TableClient) {
    this.tokens = new RefreshingCache<TokenCheck>({
      maxEntries: MAX_CACHED_TOKENS,
      name: 'tokens',
      read: (hash) => findToken(table, hash),
      lifetimeMs: (found) => (found.valid ? TOKEN_SECONDS * 1000 : 0),
    });
  }

  async check(presented: string, now = new Date()): Promise<TokenCheck> {
    if (!isTokenFormat(presented)) return { valid: false, reason: 'malformed' };
    const found = await this.tokens.get(hashToken(presented), now.getTime());
    return found.valid ? validity(found.info, now) : found;
  }

  /** Forgets after the write, whatever its outcome: a write that failed may still have landed. */
  async revoke(id: string): Promise<TokenInfo | undefined> {
    try {
      return await revokeToken(this.table, id);
    } finally {
      this.tokens.forget();
    }
  }
}
