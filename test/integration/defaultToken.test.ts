import { randomBytes } from 'node:crypto';
import { checkToken, createToken, listTokens, revokeToken } from '../../shared/feeds/tokens';
import {
  DEFAULT_TOKEN_LIFETIME_DAYS,
  DefaultToken,
  ensureDefaultToken,
} from '../../shared/nuget/defaultToken';
import { startStack, Stack } from '../support/stack';
import { makeZip } from '../support/zips';

/** The push token of `npm start`: made once, kept while valid, configured or not. */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const DAY = 86_400_000;

async function pushWith(token: string): Promise<number> {
  const nupkg = await makeZip([
    {
      name: 'Start.nuspec',
      data: '<?xml version="1.0"?><package><metadata><id>Start</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>',
    },
  ]);
  const form = new FormData();
  form.append('package', new Blob([new Uint8Array(nupkg)]), 'package.nupkg');
  const response = await fetch(`${stack.host.url}/F/default/api/v2/package`, {
    method: 'PUT',
    headers: { 'X-NuGet-ApiKey': token },
    body: form,
  });
  return response.status;
}

/** The tokens of feed `default` that still work, as a client sees them. */
async function validStartTokens(now = new Date()): Promise<string[]> {
  return (await listTokens(stack.rt.storage.tokensTable, 'default'))
    .filter((info) => info.label === 'npm start' && !info.revoked)
    .filter((info) => !info.expiresAt || new Date(info.expiresAt) > now)
    .map((info) => info.id);
}

function made(token: DefaultToken): Extract<DefaultToken, { kind: 'made' }> {
  if (token.kind !== 'made') throw new Error(`expected a new token, got ${token.kind}`);
  return token;
}

describe('without SYMFEED_DEFAULT_TOKEN', () => {
  it(`makes one that expires in ${DEFAULT_TOKEN_LIFETIME_DAYS} days, reuses it, and pushes with it`, async () => {
    const now = new Date();
    const first = made(await ensureDefaultToken(stack.rt.storage, undefined, now));
    expect(new Date(first.info.expiresAt ?? 0).getTime()).toBe(
      now.getTime() + DEFAULT_TOKEN_LIFETIME_DAYS * DAY,
    );
    const check = await checkToken(stack.rt.storage.tokensTable, first.token);
    expect(check.valid && [...check.info.scopes].sort()).toEqual(['delete', 'push', 'read']);
    expect(await pushWith(first.token)).toBe(202);

    for (const later of [1, 2, DEFAULT_TOKEN_LIFETIME_DAYS - 2]) {
      const again = await ensureDefaultToken(
        stack.rt.storage,
        undefined,
        new Date(now.getTime() + later * DAY),
      );
      expect(again).toEqual({ kind: 'kept', info: first.info });
    }
    expect(await validStartTokens()).toEqual([first.info.id]);
  });

  it('makes a new one when the last is revoked, expired or about to expire', async () => {
    const now = new Date(Date.now() + 100 * DAY);
    const old = made(await ensureDefaultToken(stack.rt.storage, undefined, now));
    const nearEnd = new Date(now.getTime() + (DEFAULT_TOKEN_LIFETIME_DAYS - 0.5) * DAY);
    const renewed = made(await ensureDefaultToken(stack.rt.storage, undefined, nearEnd));
    expect(renewed.info.id).not.toBe(old.info.id);
    await revokeToken(stack.rt.storage.tokensTable, renewed.info.id);
    const afterRevoke = made(await ensureDefaultToken(stack.rt.storage, undefined, nearEnd));
    expect(afterRevoke.info.id).not.toBe(renewed.info.id);
    expect(await ensureDefaultToken(stack.rt.storage, undefined, nearEnd)).toMatchObject({
      kind: 'kept',
      info: { id: afterRevoke.info.id },
    });
  });
});

describe('with SYMFEED_DEFAULT_TOKEN', () => {
  it('stores it, keeps it across restarts without an expiry, and pushes with it', async () => {
    const configured = `sf_${randomBytes(32).toString('base64url')}`;
    const first = await ensureDefaultToken(stack.rt.storage, configured);
    expect(first).toMatchObject({
      kind: 'configured',
      info: { feed: 'default', owner: 'default' },
    });
    expect(first.info.expiresAt).toBeUndefined();
    expect(await ensureDefaultToken(stack.rt.storage, configured)).toEqual(first);
    expect(await pushWith(configured)).toBe(202);
  });

  it('refuses a token revoked or of another feed, saying why', async () => {
    const other = await createToken(stack.rt.storage.tokensTable, {
      feed: 'other',
      scopes: ['push'],
    });
    await expect(ensureDefaultToken(stack.rt.storage, other.token)).rejects.toThrow(
      /token of feed "other"/,
    );
    await revokeToken(stack.rt.storage.tokensTable, other.info.id);
    await expect(ensureDefaultToken(stack.rt.storage, other.token)).rejects.toThrow(/revoked/);
  });
});
