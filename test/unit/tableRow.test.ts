import { createServer, IncomingHttpHeaders, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  AzureNamedKeyCredential,
  AzureSASCredential,
  RestError,
  TableClient,
} from '@azure/data-tables';
import { missingResourceOf } from '../../shared/storage/faults';
import { readRow, sharedKeyLite, stringToSign } from '../../shared/storage/tableRow';
import { StorageCredential } from '../../shared/storage/credential';
import { scriptedEndpoint } from '../support/scriptedEndpoint';

/**
 * The plain point read of a row, against a scripted table endpoint: that it asks and signs as the
 * table SDK does, decodes a row with no metadata, and fails as readRange does.
 */
const scripted = scriptedEndpoint();
const { answers, seen } = scripted;

const endpoint = () => `${scripted.origin()}/account`;
const key = new AzureNamedKeyCredential(
  'account',
  Buffer.from('a key of the account').toString('base64'),
);
const options = { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
const keyed = () => new TableClient(endpoint(), 'rows', key, options);

const json =
  (body: object, headers: Record<string, string> = {}) =>
  (res: ServerResponse) =>
    res
      .writeHead(200, { 'Content-Type': 'application/json', ETag: 'W/"1"', ...headers })
      .end(JSON.stringify(body));
const notFound = (code: string) => (res: ServerResponse) =>
  res
    .writeHead(404, { 'Content-Type': 'application/json' })
    .end(JSON.stringify({ 'odata.error': { code, message: { lang: 'en-US', value: code } } }));
const status = (code: number) => (res: ServerResponse) => res.writeHead(code).end('no');

// Quotes, spaces, a percent sign and a non-ASCII letter: every way a key must be escaped.
const odd = { partitionKey: "feed's_a b", rowKey: '100%_ü' };

it('asks for the row where the table SDK does, signed with the SharedKeyLite the SDK computes', async () => {
  answers.push(json({ PartitionKey: odd.partitionKey, RowKey: odd.rowKey }));
  await keyed().getEntity(odd.partitionKey, odd.rowKey);
  const sdk = seen[0];
  answers.push(json({ PartitionKey: odd.partitionKey, RowKey: odd.rowKey }));
  await readRow(keyed(), odd.partitionKey, odd.rowKey);
  const raw = seen[1];
  if (!sdk || !raw) throw new Error('no requests');
  expect(raw.url).toBe(sdk.url);
  expect(raw.headers).toMatchObject({
    accept: 'application/json;odata=nometadata',
    dataserviceversion: '3.0',
    'x-ms-version': sdk.headers['x-ms-version'],
  });
  // The SDK's own signature of its request is what this module computes for the same one.
  const signed = (headers: IncomingHttpHeaders, url: string) =>
    sharedKeyLite(key, headers['x-ms-date'] as string, new URL(url, 'http://x'));
  expect(signed(sdk.headers, sdk.url)).toBe(sdk.headers.authorization);
  expect(signed(raw.headers, raw.url)).toBe(raw.headers.authorization);
});

it('signs the date, then the account and the path, as the documentation says for Table SharedKeyLite', () => {
  const url = new URL(
    "https://myaccount.table.core.windows.net/mytable(PartitionKey='p',RowKey='r')?sv=x",
  );
  expect(stringToSign('myaccount', 'Tue, 01 Dec 2026 00:00:00 GMT', url)).toBe(
    "Tue, 01 Dec 2026 00:00:00 GMT\n/myaccount/mytable(PartitionKey='p',RowKey='r')",
  );
});

it('decodes a row with no metadata: JSON values as they are, binary properties from base64', async () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  answers.push(
    json(
      {
        PartitionKey: 'p',
        RowKey: 'r',
        Timestamp: '2026-12-01T00:00:00Z',
        shared: false,
        inline: bytes.toString('base64'),
        location: '{"a":1}',
      },
      { ETag: `W/"datetime'2026-12-01T00%3A00%3A00Z'"` },
    ),
  );
  const row = await readRow(keyed(), 'p', 'r', ['inline']);
  expect(row).toMatchObject({
    partitionKey: 'p',
    rowKey: 'r',
    etag: `W/"datetime'2026-12-01T00%3A00%3A00Z'"`,
    shared: false,
    location: '{"a":1}',
  });
  expect(Buffer.isBuffer(row?.inline) && row.inline.equals(bytes)).toBe(true);
});

it('calls a missing row undefined, and a missing table a missing resource', async () => {
  answers.push(notFound('ResourceNotFound'));
  expect(await readRow(keyed(), 'p', 'r')).toBeUndefined();
  answers.push(notFound('TableNotFound'));
  const failure = readRow(keyed(), 'p', 'r');
  await expect(failure).rejects.toBeInstanceOf(RestError);
  expect(missingResourceOf(await failure.catch((error: unknown) => error))).toEqual({
    kind: 'table',
    name: 'rows',
  });
  expect(seen).toHaveLength(2);
});

it('retries a transient failure, and gives up on one that keeps coming with its status', async () => {
  answers.push(status(503), status(500), json({ PartitionKey: 'p', RowKey: 'r' }));
  expect(await readRow(keyed(), 'p', 'r')).toMatchObject({ rowKey: 'r' });
  expect(seen).toHaveLength(3);
  answers.push(status(503), status(503), status(503));
  await expect(readRow(keyed(), 'p', 'r')).rejects.toMatchObject({ statusCode: 503 });
  expect(seen).toHaveLength(6);
});

it('does not retry a refusal', async () => {
  answers.push(status(403));
  await expect(readRow(keyed(), 'p', 'r')).rejects.toMatchObject({ statusCode: 403 });
  expect(seen).toHaveLength(1);
});

it('turns an unreachable endpoint into a RestError', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const gone = new TableClient(`http://127.0.0.1:${port}/account`, 'rows', key, options);
  await expect(readRow(gone, 'p', 'r')).rejects.toBeInstanceOf(RestError);
});

it('sends a bearer token for storage with a token credential, and a SAS in the query without one', async () => {
  const credential = new StorageCredential({
    getToken: async (scopes) => ({
      token: `token for ${[scopes].flat().join(' ')}`,
      expiresOnTimestamp: Date.now() + 3_600_000,
    }),
  });
  answers.push(json({ PartitionKey: 'p', RowKey: 'r' }));
  await readRow(new TableClient(endpoint(), 'rows', credential, options), 'p', 'r');
  expect(seen[0]?.headers.authorization).toBe(
    'Bearer token for https://storage.azure.com/.default',
  );
  answers.push(json({ PartitionKey: 'p', RowKey: 'r' }));
  await readRow(new TableClient(`${endpoint()}?sv=2019&sig=abc`, 'rows', options), 'p', 'r');
  expect(seen[1]?.url).toBe("/account/rows(PartitionKey='p',RowKey='r')?sv=2019&sig=abc");
  expect(seen[1]?.headers.authorization).toBeUndefined();
  answers.push(json({ PartitionKey: 'p', RowKey: 'r' }));
  await readRow(
    new TableClient(endpoint(), 'rows', new AzureSASCredential('sv=2019&sig=def'), options),
    'p',
    'r',
  );
  expect(seen[2]?.url).toBe("/account/rows(PartitionKey='p',RowKey='r')?sv=2019&sig=def");
});
