import {
  AccessToken,
  DefaultAzureCredential,
  GetTokenOptions,
  ManagedIdentityCredential,
  TokenCredential,
} from '@azure/identity';
import { RestError } from '@azure/storage-blob';
import type { CredentialChoice } from './connection';
import { reportStorageFault } from './faults';

/** The scope of every Azure Storage data-plane token (blob, queue and table alike). */
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/**
 * How long a caller waits for a token. The identity endpoint of App Service answers in
 * milliseconds; one that never answers (or retries for a minute, as the managed-identity client
 * does on 404 and 410) must cost a symbol request a 503, not a hang.
 */
export const TOKEN_WAIT_MS = 10_000;

/**
 * A token is renewed this long before it expires, in the background while it still serves, so
 * that no request waits for a renewal. A token that lives shorter than twice this is renewed at
 * half its life.
 */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * The code of the RestError that says symfeed got no token: storage cannot be asked anything,
 * which callers answer with 503 like any storage fault.
 */
export const NO_TOKEN = 'CredentialUnavailable';

interface Held {
  readonly token: AccessToken;
  readonly renewAt: number;
}

/**
 * The app's credential with one token per scope held for the whole process: the storage SDK
 * clients and the plain reads of rawRequest.ts (rows, ranges) share it, so the identity endpoint
 * is asked once for all of them, and a request waits for a token only when none is valid at all.
 */
export class StorageCredential implements TokenCredential {
  private readonly held = new Map<string, Held>();
  private readonly renewing = new Map<string, Promise<AccessToken>>();

  constructor(private readonly source: TokenCredential) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const scope = [scopes].flat().join(' ');
    const held = this.held.get(scope);
    const now = Date.now();
    if (held && now < held.renewAt) return held.token;
    const renewal = this.renew(scope, options);
    // Still valid: serve it while the renewal runs, whose failure the next request learns of.
    if (held && now < held.token.expiresOnTimestamp) {
      renewal.catch(() => undefined);
      return held.token;
    }
    return renewal;
  }

  private renew(scope: string, options?: GetTokenOptions): Promise<AccessToken> {
    let renewal = this.renewing.get(scope);
    if (!renewal) {
      renewal = this.fetch(scope, options).finally(() => this.renewing.delete(scope));
      this.renewing.set(scope, renewal);
    }
    return renewal;
  }

  private async fetch(scope: string, options?: GetTokenOptions): Promise<AccessToken> {
    const signal = AbortSignal.timeout(TOKEN_WAIT_MS);
    let token: AccessToken | null;
    try {
      token = await Promise.race([
        this.source.getToken(scope, { ...options, abortSignal: signal }),
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () =>
            reject(new Error(`no answer within ${TOKEN_WAIT_MS / 1000} s`)),
          ),
        ),
      ]);
      if (!token) throw new Error('the credential gave no token');
    } catch (error) {
      const message = `symfeed got no token for storage: ${(error as Error).message}`;
      reportStorageFault('credential', message);
      throw new RestError(message, { code: NO_TOKEN });
    }
    const life = token.expiresOnTimestamp - Date.now();
    const renewAt =
      token.refreshAfterTimestamp ??
      token.expiresOnTimestamp - Math.min(RENEW_BEFORE_MS, Math.max(life, 0) / 2);
    this.held.set(scope, { token, renewAt });
    return token;
  }
}

export function storageCredential(choice: CredentialChoice): StorageCredential {
  const source =
    choice.kind === 'default'
      ? new DefaultAzureCredential()
      : choice.resourceId
        ? new ManagedIdentityCredential({ resourceId: choice.resourceId })
        : new ManagedIdentityCredential({ clientId: choice.clientId });
  return new StorageCredential(source);
}
