import { TableClient } from '@azure/data-tables';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePorts } from '../../local/ports';
import { TOKEN_SECONDS, TokenCache } from '../../shared/feeds/tokenCache';
import { createToken, revokeToken } from '../../shared/feeds/tokens';

/**
 * Verified tokens are remembered so that a private feed's request needs no token read, but never
 * past the access-change bound: a revocation here is at once, one made elsewhere within 5 s.
 */
let azurite: RunningAzurite;
let table: TableClient;
/** Point reads of token rows made through `table`. */
let reads = 0;

beforeAll(async () => {
  const [blob, queue, tablePort] = await freePorts(3);
  azurite = await startAzurite({ ports: { blob: blob!, queue: queue!, table: tablePort! } });
  table = TableClient.fromConnectionString(azurite.connectionString, 'tokencachetest', {
    allowInsecureConnection: true,
  });
  await table.createTable();
  const getEntity = table.getEntity.bind(table);
  table.getEntity = ((...args: Parameters<typeof getEntity>) => {
    reads++;
    return getEntity(...args);
  }) as typeof table.getEntity;
}, 60_000);

afterAll(async () => {
  await azurite.stop();
});

const at = (start: Date, seconds: number) => new Date(start.getTime() + seconds * 1000);

it('reads a valid token once, then answers from memory until the bound', async () => {
  const { token, info } = await createToken(table, { feed: 'private1', scopes: ['read'] });
  const cache = new TokenCache(table);
  const start = new Date();
  reads = 0;
  expect(await cache.check(token, start)).toEqual({ valid: true, info });
  for (let i = 0; i < 100; i++) expect((await cache.check(token, at(start, 1))).valid).toBe(true);
  expect(reads).toBe(1);
  await cache.check(token, at(start, TOKEN_SECONDS + 0.1));
  expect(reads).toBe(2);
});

it('refuses at once a token revoked through it, while another instance learns within the bound', async () => {
  const { token, info } = await createToken(table, { feed: 'private2', scopes: ['read'] });
  const here = new TokenCache(table);
  const elsewhere = new TokenCache(table);
  const start = new Date();
  expect((await here.check(token, start)).valid).toBe(true);
  expect((await elsewhere.check(token, start)).valid).toBe(true);

  await here.revoke(info.id);
  expect(await here.check(token, start)).toEqual({ valid: false, reason: 'revoked' });
  // The other instance still remembers it as valid, and no longer than the bound.
  expect((await elsewhere.check(token, at(start, TOKEN_SECONDS - 1))).valid).toBe(true);
  expect(await elsewhere.check(token, at(start, TOKEN_SECONDS + 0.1))).toEqual({
    valid: false,
    reason: 'revoked',
  });
});

it('does not store a read that began before a revocation through it', async () => {
  const { token, info } = await createToken(table, { feed: 'private3', scopes: ['read'] });
  const cache = new TokenCache(table);
  const checking = cache.check(token);
  await cache.revoke(info.id);
  await checking;
  expect(await cache.check(token)).toEqual({ valid: false, reason: 'revoked' });
});

it('stops a remembered token at its expiry', async () => {
  const start = new Date();
  const { token } = await createToken(table, {
    feed: 'private4',
    scopes: ['read'],
    expiresAt: at(start, 2),
  });
  const cache = new TokenCache(table);
  expect((await cache.check(token, start)).valid).toBe(true);
  reads = 0;
  expect(await cache.check(token, at(start, 2))).toEqual({ valid: false, reason: 'expired' });
  expect(reads).toBe(0);
});

it('remembers no refusal: a token made after a failed check works at once', async () => {
  const cache = new TokenCache(table);
  const secret = `sf_${'A'.repeat(43)}`;
  expect(await cache.check(secret)).toEqual({ valid: false, reason: 'unknown' });
  await createToken(table, { feed: 'private5', scopes: ['read'] }, secret);
  expect((await cache.check(secret)).valid).toBe(true);
  reads = 0;
  expect(await cache.check('not a token')).toEqual({ valid: false, reason: 'malformed' });
  expect(reads).toBe(0);
});

it('forgets a revocation made directly in storage only when its memory expires', async () => {
  const { token, info } = await createToken(table, { feed: 'private6', scopes: ['read'] });
  const cache = new TokenCache(table);
  const start = new Date();
  expect((await cache.check(token, start)).valid).toBe(true);
  await revokeToken(table, info.id);
  expect((await cache.check(token, at(start, 1))).valid).toBe(true);
  expect((await cache.check(token, at(start, TOKEN_SECONDS + 0.1))).valid).toBe(false);
});
