import { parseSettings } from '../../shared/config/settings';
import { feedInputSchema, shownFeed } from '../../shared/feeds/feedTable';

describe('feed upstreams', () => {
  const parse = (upstreams: unknown, extra: Record<string, unknown> = {}) =>
    feedInputSchema.safeParse({ name: 'f', upstreams, ...extra });
  const message = (upstreams: unknown, extra: Record<string, unknown> = {}) => {
    const parsed = parse(upstreams, extra);
    return parsed.success ? undefined : parsed.error.issues[0]?.message;
  };

  it('defaults to none, and keeps the order and kinds given, URLs without a trailing slash', () => {
    expect(feedInputSchema.parse({ name: 'f' }).upstreams).toEqual([]);
    expect(
      parse([
        { kind: 'debuginfod', url: 'https://debuginfod.elfutils.org/' },
        { kind: 'ssqp', url: 'https://msdl.microsoft.com/download/symbols' },
      ]).data?.upstreams,
    ).toEqual([
      { kind: 'debuginfod', url: 'https://debuginfod.elfutils.org' },
      { kind: 'ssqp', url: 'https://msdl.microsoft.com/download/symbols' },
    ]);
  });

  it.each([
    ['relative', { kind: 'ssqp', url: '/symbols' }],
    ['not http', { kind: 'ssqp', url: 'file:///srv/symbols' }],
    ['with credentials', { kind: 'ssqp', url: 'https://user:pass@example.com/s' }],
    ['with a query', { kind: 'ssqp', url: 'https://example.com/s?sig=x' }],
    ['with a fragment', { kind: 'ssqp', url: 'https://example.com/s#x' }],
  ])('refuses a URL %s', (_why, upstream) => {
    expect(message([upstream])).toBe(
      'must be an absolute http or https URL without credentials, query or fragment',
    );
  });

  it('refuses unknown kinds and fields, too many upstreams, and upstreams on an aggregate', () => {
    expect(parse([{ kind: 'symstore', url: 'http://x' }]).success).toBe(false);
    expect(parse([{ kind: 'ssqp', url: 'http://x', token: 't' }]).success).toBe(false);
    expect(message(Array.from({ length: 9 }, () => ({ kind: 'ssqp', url: 'http://x' })))).toBe(
      'at most 8 upstreams',
    );
    expect(message([{ kind: 'ssqp', url: 'http://x' }], { members: ['a'] })).toBe(
      "an aggregate has no upstreams of its own: it asks its members' upstreams",
    );
  });

  it('takes headers of printable ASCII, and shows only their names', () => {
    const headers = { Authorization: 'Basic c2VjcmV0', 'X-Api-Key': 'k' };
    const feed = feedInputSchema.parse({
      name: 'f',
      upstreams: [{ kind: 'ssqp', url: 'http://x', headers }],
    });
    expect(feed.upstreams[0]?.headers).toEqual(headers);
    expect(shownFeed(feed).upstreams).toEqual([
      { kind: 'ssqp', url: 'http://x', headerNames: ['Authorization', 'X-Api-Key'] },
    ]);
    expect(JSON.stringify(shownFeed(feed))).not.toContain('c2VjcmV0');
    expect(parse([{ kind: 'ssqp', url: 'http://x', headers: { A: 'line\nbreak' } }]).success).toBe(
      false,
    );
    expect(parse([{ kind: 'ssqp', url: 'http://x', headers: { 'A:B': 'v' } }]).success).toBe(false);
  });
});

describe('upstream settings', () => {
  const storage = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

  it('defaults to misses remembered 10 minutes, a 10 s timeout and files up to 1 GiB', () => {
    expect(parseSettings(storage)).toMatchObject({
      SYMFEED_UPSTREAM_MISS_SECONDS: 600,
      SYMFEED_UPSTREAM_TIMEOUT_MS: 10_000,
      SYMFEED_UPSTREAM_MAX_BYTES: 1024 ** 3,
    });
  });

  it('refuses a size limit a plain zip cannot hold, and a zero timeout', () => {
    expect(() =>
      parseSettings({ ...storage, SYMFEED_UPSTREAM_MAX_BYTES: String(4 * 1024 ** 3) }),
    ).toThrow(/SYMFEED_UPSTREAM_MAX_BYTES is invalid \(must be below 4 GiB/);
    expect(() => parseSettings({ ...storage, SYMFEED_UPSTREAM_TIMEOUT_MS: '0' })).toThrow(
      /SYMFEED_UPSTREAM_TIMEOUT_MS is invalid/,
    );
  });
});
