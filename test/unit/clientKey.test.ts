import {
  decodeKeyFromPath,
  keyDigest,
  MAX_KEY_LENGTH,
  normaliseClientKey,
} from '../../shared/keys/clientKey';

describe('normaliseClientKey', () => {
  it.each([
    [
      'foo.pdb/497B72F6390A44FC878E5A2D63B6CC4B1/foo.pdb',
      'foo.pdb/497b72f6390a44fc878e5a2d63b6cc4b1/foo.pdb',
    ],
    ['12387532', '12387532'],
    ['a/b/c', 'a/b/c'],
    ['312&312-123*&^ndw', '312&312-123*&^ndw'],
    ['a/../b', 'a/../b'],
    ['ÄÖ.PDB', 'äö.pdb'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normaliseClientKey(input)).toEqual({ ok: true, key: expected });
  });

  it.each([
    ['', /empty/],
    ['a\u0000b', /control character/],
    ['a\nb', /control character/],
    ['a\u007fb', /control character/],
    ['a\\b\\c', /backslash/],
    ['x'.repeat(MAX_KEY_LENGTH + 1), /limit is 1024/],
  ])('refuses %j', (input, reason) => {
    const check = normaliseClientKey(input);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(reason);
  });
});

describe('decodeKeyFromPath', () => {
  it('decodes once', () => {
    expect(decodeKeyFromPath('a%2Fb/c%20d')).toEqual({ ok: true, key: 'a/b/c d' });
    expect(decodeKeyFromPath('a%252Fb')).toEqual({ ok: true, key: 'a%2fb' });
  });

  it('refuses malformed escapes and escaped control characters', () => {
    expect(decodeKeyFromPath('a%zz')).toEqual({
      ok: false,
      reason: 'the key is not valid percent-encoded UTF-8',
    });
    expect(decodeKeyFromPath('a%E9b').ok).toBe(false);
    expect(decodeKeyFromPath('a%00b')).toEqual({
      ok: false,
      reason: 'the key contains a control character',
    });
    expect(decodeKeyFromPath('a%5Cb')).toEqual({
      ok: false,
      reason: 'the key contains a backslash',
    });
  });
});

describe('keyDigest', () => {
  it('is 40 hex digits and holds no character a table key forbids', () => {
    const digest = keyDigest('foo.pdb/abc/foo.pdb');
    expect(digest).toMatch(/^[0-9a-f]{40}$/);
    expect(digest).toBe(keyDigest('foo.pdb/abc/foo.pdb'));
    expect(digest).not.toBe(keyDigest('foo.pdb/abd/foo.pdb'));
  });
});
