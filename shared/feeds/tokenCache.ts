import { TableClient } from '@azure/data-tables';
import { TtlCache } from '../util/ttlCache';
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
 * time. Revocations made here go through the cache and forget at once.
 */
export class TokenCache {
  private tokens = new TtlCache<TokenInfo>(MAX_CACHED_TOKENS);
  /** Counts revocations: a read begun before one must not store what it read. */
  private generation = 0;

  constructor(private readonly table: TableClient) {}

  async check(presented: string, now = new Date()): Promise<TokenCheck> {
    if (!isTokenFormat(presented)) return { valid: false, reason: 'malformed' };
    const hash = hashToken(presented);
    const cached = this.tokens.get(hash, now.getTime());
    if (cached.hit) return validity(cached.value, now);
    const generation = this.generation;
    const found = await findToken(this.table, hash);
    if (!found.valid) return found;
    if (generation === this.generation) {
      this.tokens.set(hash, found.info, TOKEN_SECONDS * 1000, now.getTime());
    }
    return validity(found.info, now);
  }

  /** Forgets after the write, whatever its outcome: a write that failed may still have landed. */
  async revoke(id: string): Promise<TokenInfo | undefined> {
    try {
      return await revokeToken(this.table, id);
    } finally {
      this.generation++;
      this.tokens = new TtlCache<TokenInfo>(MAX_CACHED_TOKENS);
    }
  }
}
