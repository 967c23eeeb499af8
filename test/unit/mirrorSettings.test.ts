import { feedInputSchema, shownFeed } from '../../shared/feeds/feedTable';
import { MirrorSource } from '../../shared/mirror/mirrorSource';

const url = 'https://source.example/F/team/api/v3/index.json';

it('shows a mirror without its token', () => {
  const feed = feedInputSchema.parse({ name: 'm', mirror: { url, token: 'secret-token' } });
  expect(JSON.stringify(shownFeed(feed))).not.toContain('secret-token');
  expect(shownFeed(feed).mirror).toEqual({ url, withToken: true });
});

it('refuses mirrors that are aggregates, or URLs with credentials or other schemes', () => {
  const parse = (input: object) => feedInputSchema.safeParse({ name: 'm', ...input }).success;
  expect(parse({ mirror: { url }, members: ['a'] })).toBe(false);
  expect(parse({ mirror: { url: 'https://u:p@source.example/F/t/api/v3/index.json' } })).toBe(
    false,
  );
  expect(parse({ mirror: { url: 'file:///etc/passwd' } })).toBe(false);
  expect(parse({ mirror: { url, token: 'has space' } })).toBe(false);
  expect(parse({ mirror: { url, extra: 1 } })).toBe(false);
});

it('sends the token as Bearer to the source origin alone', async () => {
  const seen: [string, string | undefined][] = [];
  const fake = (async (target: string, init?: RequestInit) => {
    seen.push([target, (init?.headers as Record<string, string>).Authorization]);
    return new Response('{}');
  }) as typeof fetch;
  const source = new MirrorSource({ url, token: 't0ken' }, fake);
  await source.get('https://source.example/F/team/api/v3/catalog/index.json');
  await source.get('https://elsewhere.example/F/team/api/v3/catalog/index.json');
  await source.get('http://source.example/F/team/api/v3/catalog/index.json');
  expect(seen.map(([, auth]) => auth)).toEqual(['Bearer t0ken', undefined, undefined]);
});
