import { createHmac } from 'node:crypto';
import type { NamedKeyCredential, TableClient } from '@azure/data-tables';
import { RestError } from '@azure/storage-blob';
import { z } from 'zod';
import { missingCodeOf, missingResourceError } from './faults';
import { bearer, bodyOf, header, isTokenCredential, sendRead } from './rawRequest';

/** The version the table SDK speaks; Azure and Azurite accept it. */
const API_VERSION = '2019-02-02';

/** A row as the table SDK's getEntity gives it, its properties as storage returned them. */
export type RawRow = Record<string, unknown> & {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly etag: string;
};

/**
 * One row by its keys (Query Entity), as a plain keep-alive HTTP request, for the read on the
 * path of every cold symbol (a key's winner row): the table SDK's getEntity took 0.03-0.1 ms
 * longer at p50 on Azurite (its pipeline, tracing and deserialisation). Undefined when there is
 * no such row. A body that is no row (cut short, not JSON) is retried as a failed send is.
 *
 * The row comes with no metadata (`odata=nometadata`): no property's type is sent, so every
 * value is as JSON has it, and `binary` names the properties to decode from base64 (Edm.Binary),
 * the only type symfeed's point reads need beyond JSON's own. Failures go as readRange's do
 * (rawRequest.ts): retried as the SDK retries, thrown as a RestError, a missing table as
 * missingResourceError.
 */
export async function readRow(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
  binary: readonly string[] = [],
): Promise<RawRow | undefined> {
  const read = await sendRead(
    `reading a row of table ${table.tableName}`,
    () => signedRequest(table, partitionKey, rowKey),
    async (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200 && status !== 404) return undefined;
      const body = await bodyOf(response);
      if (status === 404) {
        const code = header(response, 'x-ms-error-code') ?? errorCodeOf(body);
        const missing = missingCodeOf(code);
        if (missing) throw missingResourceError(missing, table.tableName);
        return { row: undefined };
      }
      const etag = header(response, 'etag');
      if (!etag) throw new RestError(`a row of table ${table.tableName} came with no ETag`);
      return { row: rowOf(JSON.parse(body.toString('utf8')), etag, binary) };
    },
  );
  return read.row;
}

const errorSchema = z.object({ 'odata.error': z.object({ code: z.string() }) });

function errorCodeOf(body: Buffer): string | undefined {
  try {
    const parsed = errorSchema.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data['odata.error'].code : undefined;
  } catch {
    return undefined;
  }
}

function rowOf(json: unknown, etag: string, binary: readonly string[]): RawRow {
  const {
    PartitionKey: partitionKey,
    RowKey: rowKey,
    ...properties
  } = z.object({ PartitionKey: z.string(), RowKey: z.string() }).catchall(z.unknown()).parse(json);
  for (const name of binary) {
    const value = properties[name];
    if (typeof value === 'string') properties[name] = Buffer.from(value, 'base64');
  }
  return { ...properties, partitionKey, rowKey, etag };
}

/**
 * The table client's URL (a SAS connection string's SAS in its query) and credential: its own,
 * since a process has one of each and the client is how they reach a read.
 */
function clientOf(table: TableClient): { url: string; credential: unknown } {
  return table as unknown as { url: string; credential: unknown };
}

function isNamedKey(credential: unknown): credential is NamedKeyCredential {
  const named = credential as Partial<NamedKeyCredential> | undefined;
  return typeof named?.name === 'string' && typeof named.key === 'string';
}

/**
 * A SAS given as a credential (AzureSASCredential) rather than in the URL, where a SAS connection
 * string puts it.
 */
function isSas(credential: unknown): credential is { readonly signature: string } {
  return typeof (credential as { signature?: unknown } | undefined)?.signature === 'string';
}

/**
 * A value of a key as OData has it in a URL: quoted, its own single quotes doubled, then
 * percent-encoded as a path segment.
 */
function odataKey(value: string): string {
  return `'${encodeURIComponent(value.replace(/'/g, "''"))}'`;
}

export function rowUrl(table: TableClient, partitionKey: string, rowKey: string): URL {
  const url = new URL(clientOf(table).url);
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = `${base}/${encodeURIComponent(table.tableName)}(PartitionKey=${odataKey(partitionKey)},RowKey=${odataKey(rowKey)})`;
  return url;
}

async function signedRequest(table: TableClient, partitionKey: string, rowKey: string) {
  const url = rowUrl(table, partitionKey, rowKey);
  const headers: Record<string, string> = {
    Accept: 'application/json;odata=nometadata',
    DataServiceVersion: '3.0',
    'x-ms-date': new Date().toUTCString(),
    'x-ms-version': API_VERSION,
  };
  const { credential } = clientOf(table);
  if (isNamedKey(credential)) {
    headers.Authorization = sharedKeyLite(credential, headers['x-ms-date'] as string, url);
  } else if (isTokenCredential(credential)) {
    headers.Authorization = await bearer(credential);
  } else if (isSas(credential)) {
    for (const [name, value] of new URLSearchParams(credential.signature)) {
      url.searchParams.append(name, value);
    }
  } else if (credential !== undefined) {
    throw new Error('row reads support account keys, token credentials and SAS only');
  }
  return { url, headers };
}

/**
 * The Table service's SharedKeyLite signature, which the table SDK signs with
 * (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key, "Shared Key Lite and
 * Table service format"): the date and the resource, the account's name before the URL's path,
 * and no query (a point read has no `comp`).
 */
export function sharedKeyLite(credential: NamedKeyCredential, date: string, url: URL): string {
  const signature = createHmac('sha256', Buffer.from(credential.key, 'base64'))
    .update(stringToSign(credential.name, date, url), 'utf8')
    .digest('base64');
  return `SharedKeyLite ${credential.name}:${signature}`;
}

export function stringToSign(account: string, date: string, url: URL): string {
  return `${date}\n/${account}${url.pathname}`;
}
