import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { TokenCredential } from '@azure/identity';
import { RestError } from '@azure/storage-blob';
import { RETRIES, TRY_TIMEOUT_MS } from './clients';
import { STORAGE_SCOPE } from './credential';
import { reportRefusal } from './faults';

/**
 * Plain keep-alive GETs for the two reads on the path of a symbol's first byte (a key's winner
 * row, a package's range): the storage SDKs' pipelines (policies, tracing, header
 * (de)serialisation) cost 0.4-0.6 ms to the response headers of every read. What the SDKs
 * would do around a read is done here as they do it: their retries, their per-try limit, and
 * failures thrown as the RestError that callers answer with 503.
 */

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** Statuses the storage SDKs' retry policies also retry: the service or the network hiccuped. */
const TRANSIENT = new Set([408, 500, 502, 503, 504]);

export interface RawRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
}

/**
 * Sends the GET `prepare` makes (again for each try: a new date, maybe a new token) until
 * `answer` makes something of its response. `answer` returns undefined for a response it does not
 * expect, which is then retried if transient, or else thrown as a RestError with its status (a
 * refusal is told to the operator first). The RestErrors `answer` throws are final; any other
 * error it throws (a body cut short) is retried as a failed send is. `what` names the read in
 * errors.
 */
export async function sendRead<T>(
  what: string,
  prepare: () => Promise<RawRequest>,
  answer: (response: IncomingMessage) => Promise<T | undefined>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt === RETRIES.maxRetries;
    const { url, headers } = await prepare();
    let result: T | undefined;
    let response: IncomingMessage;
    try {
      response = await get(url, headers);
      result = await answer(response);
    } catch (error) {
      if (error instanceof RestError) throw error;
      if (last) {
        throw new RestError(`${what} failed: ${(error as Error).message}`, {
          code: 'REQUEST_SEND_ERROR',
        });
      }
      await backOff(attempt);
      continue;
    }
    if (result !== undefined) return result;
    // Drained rather than destroyed, so that the connection goes back to the pool.
    response.resume();
    const status = response.statusCode ?? 0;
    if (status === 401 || status === 403) {
      reportRefusal(status, header(response, 'x-ms-error-code'), `GET ${url.pathname}`);
    }
    if (!TRANSIENT.has(status) || last) {
      throw new RestError(`${what} failed with ${status}`, { statusCode: status });
    }
    await backOff(attempt);
  }
}

function backOff(attempt: number): Promise<void> {
  const delay = Math.min(RETRIES.retryDelayInMs * 2 ** attempt, RETRIES.maxRetryDelayInMs);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

export function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A response's whole body: for the small ones (a row, an error) only. */
export function bodyOf(response: IncomingMessage): Promise<Buffer> {
  // Events rather than the stream's async iterator, which cost 20-30 µs more a read.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks)));
    response.on('error', reject);
  });
}

export function isTokenCredential(credential: unknown): credential is TokenCredential {
  return typeof (credential as Partial<TokenCredential> | undefined)?.getToken === 'function';
}

/**
 * The Authorization header of a token credential. Held by the credential (the process's
 * StorageCredential) until shortly before it expires: no request waits for the identity endpoint
 * but the first and the one after a failed renewal.
 */
export async function bearer(credential: TokenCredential): Promise<string> {
  const token = await credential.getToken(STORAGE_SCOPE);
  if (!token) throw new RestError('the credential gave no token for storage');
  return `Bearer ${token.token}`;
}

function get(url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
  const agent = agents[url.protocol as keyof typeof agents];
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // An idle limit until the headers come: a service that accepted the connection and never
    // answers (frozen, half-open) must not hold the request for ever.
    const request = client.get(
      url,
      { agent, headers, timeout: TRY_TIMEOUT_MS.read },
      (response) => {
        // The body then goes at the pace of whoever downloads it: a slow reader is no dead service.
        request.setTimeout(0);
        resolve(response);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer within ${TRY_TIMEOUT_MS.read / 1000} s`)),
    );
    request.on('error', reject);
  });
}
