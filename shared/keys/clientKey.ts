import { createHash } from 'node:crypto';

/** Longer than any key convention produces by far, short enough to keep rows and logs sane. */
export const MAX_KEY_LENGTH = 1024;

export type KeyCheck = { ok: true; key: string } | { ok: false; reason: string };

/**
 * SSQP keys are opaque and case-insensitive: store and compare them lower-cased. A key is never
 * a path, so "a/b/c", "12387532" and "a/../b" are all just strings; what is refused is what no
 * client can mean and what would poison logs or storage: control characters, backslashes,
 * empty or absurdly long keys.
 */
export function normaliseClientKey(key: string): KeyCheck {
  if (key.length === 0) return { ok: false, reason: 'the key is empty' };
  if (key.length > MAX_KEY_LENGTH) {
    return {
      ok: false,
      reason: `the key is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH}`,
    };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) {
    return { ok: false, reason: 'the key contains a control character' };
  }
  if (key.includes('\\')) return { ok: false, reason: 'the key contains a backslash' };
  return { ok: true, key: key.toLowerCase() };
}

/**
 * Decodes the key part of a request path exactly once. "%2F" and "/" mean the same to SSQP,
 * "%252F" stays a literal "%2F".
 */
export function decodeKeyFromPath(rawPath: string): KeyCheck {
  try {
    return normaliseClientKey(decodeURIComponent(rawPath));
  } catch {
    return { ok: false, reason: 'the key is not valid percent-encoded UTF-8' };
  }
}

/** A fixed-width digest of a normalised key: table keys cannot hold "/", "\\", "#" or "?". */
export function keyDigest(normalisedKey: string): string {
  return createHash('sha256').update(normalisedKey, 'utf8').digest('hex').slice(0, 40);
}
