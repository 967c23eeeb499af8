import { createServer, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AnonymousCredential, BlobClient, RestError } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { readRange } from '../../shared/serve/blobRange';
import { StorageCredential } from '../../shared/storage/credential';
import { missingResourceOf } from '../../shared/storage/faults';
import { scriptedEndpoint } from '../support/scriptedEndpoint';

/**
 * The plain ranged read that streams large entries, against a scripted blob endpoint: what it
 * asks for, which answers mean "stale", which are retried, and which fail as a RestError (the
 * error serveSymbol turns into 503).
 */
const endpoint = scriptedEndpoint();
const { answers, seen } = endpoint;

const blob = () =>
  new BlobClient(
    `${endpoint.origin()}/account/packages/feed/p.zip?sv=sas`,
    new AnonymousCredential(),
  );
const partial = (bytes: Buffer) => (res: ServerResponse) =>
  res.writeHead(206, { 'Content-Length': bytes.length }).end(bytes);
const status = (code: number) => (res: ServerResponse) => res.writeHead(code).end('no');

async function text(read: Awaited<ReturnType<typeof readRange>>): Promise<string> {
  if ('stale' in read) throw new Error('stale');
  const chunks: Buffer[] = [];
  for await (const chunk of read.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

it('asks for the range on the condition of the ETag, with the SAS of the URL', async () => {
  answers.push(partial(Buffer.from('hello')));
  expect(await text(await readRange(blob(), 10, 5, '"0x1"'))).toBe('hello');
  expect(seen[0]?.headers).toMatchObject({ 'x-ms-range': 'bytes=10-14', 'if-match': '"0x1"' });
  expect(seen[0]?.headers.authorization).toBeUndefined();
});

it.each([412, 404])('calls %i stale', async (code) => {
  answers.push(status(code));
  expect(await readRange(blob(), 0, 5, '"0x1"')).toEqual({ stale: true });
  expect(seen).toHaveLength(1);
});

it('retries a transient failure', async () => {
  answers.push(status(503), status(500), partial(Buffer.from('later')));
  expect(await text(await readRange(blob(), 0, 5, '"0x1"'))).toBe('later');
  expect(seen).toHaveLength(3);
});

it('gives up on a failure that keeps coming, as a RestError with its status', async () => {
  answers.push(status(503), status(503), status(503), partial(Buffer.from('never')));
  await expect(readRange(blob(), 0, 5, '"0x1"')).rejects.toMatchObject({ statusCode: 503 });
  expect(seen).toHaveLength(3);
});

it('does not retry a refusal', async () => {
  answers.push(status(403));
  const failure = readRange(blob(), 0, 5, '"0x1"');
  await expect(failure).rejects.toBeInstanceOf(RestError);
  await expect(failure).rejects.toMatchObject({ statusCode: 403 });
  expect(seen).toHaveLength(1);
});

it('refuses a range of another length than asked', async () => {
  answers.push(partial(Buffer.from('abc')));
  await expect(readRange(blob(), 0, 5, '"0x1"')).rejects.toBeInstanceOf(RestError);
});

it('turns an unreachable endpoint into a RestError', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const gone = new BlobClient(`http://127.0.0.1:${port}/a/c/b`, new AnonymousCredential());
  await expect(readRange(gone, 0, 5, '"0x1"')).rejects.toBeInstanceOf(RestError);
});

it('gives up on an endpoint that takes the request and never answers, as a RestError', async () => {
  const silent: ((res: ServerResponse) => void)[] = [
    () => undefined,
    () => undefined,
    () => undefined,
  ];
  answers.push(...silent);
  const started = Date.now();
  await expect(readRange(blob(), 0, 5, '"0x1"')).rejects.toBeInstanceOf(RestError);
  expect(seen).toHaveLength(3);
  expect(Date.now() - started).toBeLessThan(10_000);
  // The server never answered: let it go.
  endpoint.closeAllConnections();
});

it('lets a reader pause longer than the wait for headers without losing the body', async () => {
  const bytes = Buffer.alloc(4 * 1024 * 1024, 'x');
  answers.push(partial(bytes));
  const read = await readRange(blob(), 0, bytes.length, '"0x1"');
  if ('stale' in read) throw new Error('stale');
  read.body.pause();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(await text(read)).toBe(bytes.toString());
});

describe('with a token credential', () => {
  /** A credential that counts its calls and hands out tokens that expire `lifeMs` from now. */
  function countingCredential(lifeMs: number) {
    const calls: string[] = [];
    return {
      calls,
      credential: {
        async getToken(scopes: string | string[]) {
          calls.push([scopes].flat().join(' '));
          return { token: `token-${calls.length}`, expiresOnTimestamp: Date.now() + lifeMs };
        },
      },
    };
  }
  const tokenBlob = (credential: TokenCredential) =>
    new BlobClient(
      `${endpoint.origin()}/account/packages/feed/p.zip`,
      new StorageCredential(credential),
    );

  it('sends a bearer token for storage, and asks for a new one only shortly before it expires', async () => {
    const { calls, credential } = countingCredential(60 * 60_000);
    const blobClient = tokenBlob(credential);
    answers.push(partial(Buffer.from('one')), partial(Buffer.from('two')));
    expect(await text(await readRange(blobClient, 0, 3, '"0x1"'))).toBe('one');
    expect(await text(await readRange(blobClient, 0, 3, '"0x1"'))).toBe('two');
    expect(seen.map(({ headers }) => headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
    ]);
    expect(calls).toEqual(['https://storage.azure.com/.default']);
  });

  it('renews a token that is about to expire before it sends', async () => {
    const { calls, credential } = countingCredential(1_000);
    const blobClient = tokenBlob(credential);
    answers.push(partial(Buffer.from('one')));
    await text(await readRange(blobClient, 0, 3, '"0x1"'));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    answers.push(partial(Buffer.from('two')));
    await text(await readRange(blobClient, 0, 3, '"0x1"'));
    expect(seen.map(({ headers }) => headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(calls).toHaveLength(2);
  });

  it('fails as a RestError, without retrying, when no token comes', async () => {
    const blobClient = tokenBlob({
      getToken: () => Promise.reject(new Error('the identity endpoint said no')),
    });
    const failure = readRange(blobClient, 0, 3, '"0x1"');
    await expect(failure).rejects.toBeInstanceOf(RestError);
    await expect(failure).rejects.toThrow(/no token for storage: the identity endpoint said no/);
    expect(seen).toHaveLength(0);
  });
});

it('tells a missing container from a stale blob', async () => {
  answers.push((res) =>
    res.writeHead(404, { 'x-ms-error-code': 'ContainerNotFound' }).end('no container'),
  );
  const failure = readRange(blob(), 0, 5, '"0x1"');
  await expect(failure).rejects.toBeInstanceOf(RestError);
  expect(missingResourceOf(await failure.catch((error: unknown) => error))).toEqual({
    kind: 'container',
    name: 'packages',
  });
  answers.push((res) => res.writeHead(404, { 'x-ms-error-code': 'BlobNotFound' }).end('no'));
  expect(await readRange(blob(), 0, 5, '"0x1"')).toEqual({ stale: true });
});
