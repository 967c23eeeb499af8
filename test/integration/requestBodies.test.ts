import { once } from 'node:events';
import { Agent, IncomingMessage, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createToken } from '../../shared/feeds/tokens';
import { startStack, Stack } from '../support/stack';

/**
 * The local host streams request bodies to the handlers, which authorise the caller before they
 * read a byte; management bodies are capped. The host runs in this process, so its memory is
 * this process's resident set.
 */
const ADMIN_TOKEN = 'admin-token-for-the-request-body-test-012345';
const MiB = 1024 * 1024;
let stack: Stack;
let pushToken: string;

beforeAll(async () => {
  stack = await startStack({
    SYMFEED_ADMIN_TOKEN: ADMIN_TOKEN,
    SYMFEED_MAX_PUSH_BYTES: String(MiB),
  });
  ({ token: pushToken } = await createToken(stack.rt.storage.tokensTable, {
    feed: 'default',
    scopes: ['push'],
  }));
});
afterAll(() => stack?.stop());

const BOUNDARY = 'xyz';
const PART_HEAD = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n`,
);
const PART_TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/**
 * A multipart push of a package of `mebibytes` MiB of zeros, from one reused buffer: the sender
 * holds 1 MiB whatever the size.
 */
function pushBody(mebibytes: number): { stream: Readable; length: number } {
  const chunk = Buffer.alloc(MiB);
  return {
    stream: Readable.from(
      (function* () {
        yield PART_HEAD;
        for (let i = 0; i < mebibytes; i++) yield chunk;
        yield PART_TAIL;
      })(),
    ),
    length: PART_HEAD.length + mebibytes * MiB + PART_TAIL.length,
  };
}

interface Sent {
  status: number;
  text: string;
  headers: IncomingMessage['headers'];
  /** Whether the server asked for the body (100 Continue) before it answered. */
  continued: boolean;
}

/**
 * Sends a push body with a package of `mebibytes` MiB, whole, whatever the server answers
 * meanwhile (as most clients do), and returns the answer once the body is sent.
 */
async function send(
  method: string,
  path: string,
  mebibytes: number,
  headers: Record<string, string>,
  options: { agent?: Agent; expectContinue?: boolean; chunked?: boolean } = {},
): Promise<Sent> {
  const body = pushBody(mebibytes);
  const req = httpRequest(`${stack.host.url}${path}`, {
    method,
    agent: options.agent ?? false,
    headers: {
      ...headers,
      ...(options.chunked ? {} : { 'Content-Length': String(body.length) }),
      ...(options.expectContinue ? { Expect: '100-continue' } : {}),
    },
  });
  const answered = new Promise<Omit<Sent, 'continued'>>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
  });
  const write = () => pipeline(body.stream, req).catch(() => undefined);
  let continued = false;
  let written: Promise<unknown> | undefined;
  if (options.expectContinue) {
    req.on('continue', () => {
      continued = true;
      written = write();
    });
    req.flushHeaders();
  } else {
    written = write();
  }
  const answer = await answered;
  if (written) await written;
  // Asked for nothing, the client sends nothing and gives up the request.
  else req.destroy();
  return { ...answer, continued };
}

/** The peak growth of this process's resident set while `work` runs, in MiB. */
async function rssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMiB: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growthMiB: (peak - before) / MiB };
  } finally {
    clearInterval(sampler);
  }
}

const multipart = { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` };

it('answers a 600 MB unauthenticated push with 401 without holding it in memory', async () => {
  const { result, growthMiB } = await rssGrowth(() =>
    send('PUT', '/F/default/api/v2/package', 600, multipart),
  );
  expect(result.status).toBe(401);
  expect(result.text).toMatch(/needs a token/);
  expect(growthMiB).toBeLessThan(100);
});

it('answers an 800 MB management request without the admin token with 401, memory flat', async () => {
  const { result, growthMiB } = await rssGrowth(() =>
    send('PUT', '/manage/feeds/x', 800, { 'Content-Type': 'application/json' }),
  );
  expect(result.status).toBe(401);
  expect(growthMiB).toBeLessThan(100);
});

it('never asks a client that waits for 100 Continue for the body of a refused push', async () => {
  const refused = await send('PUT', '/F/default/api/v2/package', 50, multipart, {
    expectContinue: true,
  });
  expect(refused).toMatchObject({ status: 401, continued: false });
  // An authorised one is asked for it, and its answer comes from reading it.
  const tooLarge = await send(
    'PUT',
    '/F/default/api/v2/package',
    5,
    { ...multipart, 'X-NuGet-ApiKey': pushToken },
    { expectContinue: true, chunked: true },
  );
  expect(tooLarge).toMatchObject({ status: 413, continued: true });
});

it('answers a push it stops reading halfway, and the connection serves the next request', async () => {
  // A raw socket, as Node's own client stops sending once it has an answer: this one sends the
  // whole body, as NuGet clients do, and then the next request on the same connection.
  const socket = connect(stack.host.port, '127.0.0.1');
  let received = '';
  socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
  try {
    const body = pushBody(20);
    socket.write(
      `PUT /F/default/api/v2/package HTTP/1.1\r\nHost: localhost\r\nX-NuGet-ApiKey: ${pushToken}\r\n` +
        `Content-Type: ${multipart['Content-Type']}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    for await (const chunk of body.stream) {
      if (!socket.write(chunk as Buffer)) await once(socket, 'drain');
    }
    socket.write('GET /no/such/thing HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const deadline = Date.now() + 10_000;
    while (!received.includes('No such endpoint.') && Date.now() < deadline && !socket.closed) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toMatch(/larger than this server's limit/);
    expect(received).toMatch(/HTTP\/1\.1 404 [^]*No such endpoint\./);
  } finally {
    socket.destroy();
  }
});

it('caps management bodies at 16 KiB with a clear 413', async () => {
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const declared = await send('PUT', '/manage/feeds/big', 1, admin);
  expect(declared.status).toBe(413);
  expect(JSON.parse(declared.text)).toEqual({
    error: 'the request body is larger than 16384 bytes; management requests are small JSON',
  });
  const chunked = await send('PUT', '/manage/feeds/big', 1, admin, { chunked: true });
  expect(chunked.status).toBe(413);
  const ordinary = await fetch(`${stack.host.url}/manage/feeds/small`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify({ visibility: 'public', padding: undefined }),
  });
  expect(ordinary.status).toBe(201);
});
