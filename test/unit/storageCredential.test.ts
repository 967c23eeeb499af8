import type { AccessToken, TokenCredential } from '@azure/identity';
import { RestError } from '@azure/storage-blob';
import { NO_TOKEN, StorageCredential, TOKEN_WAIT_MS } from '../../shared/storage/credential';

/** The one credential of a process: one token for every client, renewed early, waited on briefly. */
const SCOPE = 'https://storage.azure.com/.default';

function source(answer: () => Promise<AccessToken | null>) {
  let calls = 0;
  const credential: TokenCredential = {
    getToken: () => {
      calls++;
      return answer();
    },
  };
  return { credential, calls: () => calls };
}

const token = (name: string, lifeMs: number): AccessToken => ({
  token: name,
  expiresOnTimestamp: Date.now() + lifeMs,
});

beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

it('asks its source once for many callers at once, and holds the token', async () => {
  const counted = source(async () => token('t1', 3_600_000));
  const credential = new StorageCredential(counted.credential);
  const tokens = await Promise.all(Array.from({ length: 20 }, () => credential.getToken(SCOPE)));
  expect(new Set(tokens.map((t) => t.token))).toEqual(new Set(['t1']));
  await credential.getToken(SCOPE);
  expect(counted.calls()).toBe(1);
});

it('serves the token it holds while a renewal fails, and says so in the log', async () => {
  let answer = () => Promise.resolve<AccessToken | null>(token('short', 2_000));
  const counted = source(() => answer());
  const credential = new StorageCredential(counted.credential);
  expect((await credential.getToken(SCOPE)).token).toBe('short');
  answer = () => Promise.reject(new Error('the identity endpoint is down'));
  // Past half its life, it is renewed; still valid, it is served meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect((await credential.getToken(SCOPE)).token).toBe('short');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(console.error).toHaveBeenCalledWith(
    expect.stringContaining('symfeed got no token for storage: the identity endpoint is down'),
  );
});

it(
  'gives up on a source that does not answer, as a RestError a caller answers with 503',
  async () => {
    const credential = new StorageCredential(source(() => new Promise(() => undefined)).credential);
    const started = Date.now();
    const failure = await credential.getToken(SCOPE).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RestError);
    expect((failure as RestError).code).toBe(NO_TOKEN);
    expect((failure as RestError).message).toMatch(/no answer within 10 s/);
    expect(Date.now() - started).toBeLessThan(TOKEN_WAIT_MS + 5_000);
  },
  TOKEN_WAIT_MS + 10_000,
);
