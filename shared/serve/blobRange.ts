import type { IncomingMessage } from 'node:http';
import {
  AnonymousCredential,
  BlobClient,
  RestError,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { missingCodeOf, missingResourceError } from '../storage/faults';
import { bearer, header, isTokenCredential, sendRead } from '../storage/rawRequest';

/**
 * A version every Azure region and Azurite accept that has conditional ranged Get Blob; the
 * response headers this module reads have not changed since.
 */
const API_VERSION = '2021-08-06';

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
  return sendRead(
    `reading ${blob.name}`,
    async () => {
      const url = new URL(blob.url);
      return { url, headers: await signedHeaders(blob, url, offset, count, ifMatch) };
    },
    async (response) => {
      const status = response.statusCode ?? 0;
      if (status === 206) {
        const length = Number(response.headers['content-length']);
        if (length === count) return { body: response };
        response.destroy();
        throw new RestError(`reading ${blob.name} gave ${length} bytes, not ${count}`, {
          statusCode: status,
        });
      }
      if (status !== 412 && status !== 404) return undefined;
      response.resume();
      const missing = status === 404 && missingCodeOf(header(response, 'x-ms-error-code'));
      if (missing) throw missingResourceError(missing, blob.containerName);
      return { stale: true };
    },
  );
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
    headers.Authorization = await bearer(credential);
  } else if (!(credential instanceof AnonymousCredential)) {
    throw new Error('ranged reads support account keys, token credentials and SAS only');
  }
  return headers;
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
