import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { TokenCredential } from '@azure/identity';
import {
  AnonymousCredential,
  BlobClient,
  RestError,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { RETRIES, TRY_TIMEOUT_MS } from '../storage/clients';
import { STORAGE_SCOPE } from '../storage/credential';
import { missingCodeOf, missingResourceError, reportRefusal } from '../storage/faults';

/**
 * A version every Azure region and Azurite accept that has conditional ranged Get Blob; the
 * response headers this module reads have not changed since.
 */
const API_VERSION = '2021-08-06';

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** Statuses the storage SDK's retry policy also retries: the service or the network hiccuped. */
const TRANSIENT = new Set([408, 500, 502, 503, 504]);

export type RangeRead = { readonly body: IncomingMessage } | { readonly stale: true };

/**
 * One conditional ranged Get Blob as a plain keep-alive HTTP request: the storage SDK's download
 * takes 0.4-0.6 ms longer to the response headers (its pipeline's policies, tracing and header
 * (de)serialisation), on every read of a large entry. Its stream bought nothing either: it would
 * re-request the rest of a body that ends short, but a connection that breaks under Node's HTTP
 * client aborts it instead, so a broken read destroyed the response then as it does now, and the
 * client asks again. Authorised as the SDK would be: SharedKey for an account key, a bearer
 * token of the client's token credential (the process's StorageCredential, which holds it until
 * shortly before it expires), the URL's own SAS otherwise.
 * `stale` when the blob is gone or is no longer the version `ifMatch` names; transient failures,
 * and tries whose response headers do not come within the SDK clients' read limit, are retried
 * as the SDK retries them, and what still fails is thrown as a RestError, which callers answer
 * with 503: so are a container that does not exist and a credential that gives no token (not
 * retried: the credential waits long enough itself).
 */
export async function readRange(
  blob: BlobClient,
  offset: number,
  count: number,
  ifMatch: string,
): Promise<RangeRead> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt === RETRIES.maxRetries;
    const url = new URL(blob.url);
    const headers = await signedHeaders(blob, url, offset, count, ifMatch);
    let response: IncomingMessage;
    try {
      response = await get(url, headers);
    } catch (error) {
      if (last) {
        throw new RestError(`reading ${blob.name} failed: ${(error as Error).message}`, {
          code: 'REQUEST_SEND_ERROR',
        });
      }
      await backOff(attempt);
      continue;
    }
    const status = response.statusCode ?? 0;
    if (status === 206) {
      const length = Number(response.headers['content-length']);
      if (length === count) return { body: response };
      response.destroy();
      throw new RestError(`reading ${blob.name} gave ${length} bytes, not ${count}`, {
        statusCode: status,
      });
    }
    // Drained rather than destroyed, so that the connection goes back to the pool.
    response.resume();
    const missing = status === 404 && missingCodeOf(header(response, 'x-ms-error-code'));
    if (missing) throw missingResourceError(missing, blob.containerName);
    if (status === 412 || status === 404) return { stale: true };
    if (status === 401 || status === 403) {
      reportRefusal(status, header(response, 'x-ms-error-code'), `GET ${url.pathname}`);
    }
    if (!TRANSIENT.has(status) || last) {
      throw new RestError(`reading ${blob.name} failed with ${status}`, { statusCode: status });
    }
    await backOff(attempt);
  }
}

function backOff(attempt: number): Promise<void> {
  const delay = Math.min(RETRIES.retryDelayInMs * 2 ** attempt, RETRIES.maxRetryDelayInMs);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isTokenCredential(credential: unknown): credential is TokenCredential {
  return typeof (credential as Partial<TokenCredential>).getToken === 'function';
}

async function signedHeaders(
  blob: BlobClient,
  url: URL,
  offset: number,
  count: number,
  ifMatch: string,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    'If-Match': ifMatch,
    'x-ms-date': new Date().toUTCString(),
    'x-ms-range': `bytes=${offset}-${offset + count - 1}`,
    'x-ms-version': API_VERSION,
  };
  const credential = blob.credential;
  if (credential instanceof StorageSharedKeyCredential) {
    headers.Authorization = sharedKey(credential, url, headers);
  } else if (isTokenCredential(credential)) {
    // Held by the credential until shortly before it expires: no request waits for the identity
    // endpoint but the first and the one after a failed renewal.
    const token = await credential.getToken(STORAGE_SCOPE);
    if (!token) throw new RestError('the credential gave no token for storage');
    headers.Authorization = `Bearer ${token.token}`;
  } else if (!(credential instanceof AnonymousCredential)) {
    throw new Error('ranged reads support account keys, token credentials and SAS only');
  }
  return headers;
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

/**
 * The SharedKey signature of a GET with no body, as the service computes it
 * (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key): the standard headers
 * symfeed does not send are empty lines; every x-ms- header is sent in lower case and sorted.
 */
function sharedKey(
  credential: StorageSharedKeyCredential,
  url: URL,
  headers: Record<string, string>,
): string {
  const canonicalHeaders = Object.keys(headers)
    .filter((name) => name.startsWith('x-ms-'))
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join('');
  const stringToSign = [
    'GET',
    '', // Content-Encoding
    '', // Content-Language
    '', // Content-Length
    '', // Content-MD5
    '', // Content-Type
    '', // Date: x-ms-date is signed instead
    '', // If-Modified-Since
    headers['If-Match'],
    '', // If-None-Match
    '', // If-Unmodified-Since
    '', // Range: x-ms-range is signed instead
    // A shared-key client's blob URL has no query: the resource is its path alone.
    `${canonicalHeaders}/${credential.accountName}${url.pathname}`,
  ].join('\n');
  return `SharedKey ${credential.accountName}:${credential.computeHMACSHA256(stringToSign)}`;
}
