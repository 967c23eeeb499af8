import { createHash } from 'node:crypto';

/**
 * A package is one blob: the same blob name always names the same package, so a retried or
 * repeated blob event lands on the same rows. Pushes give every upload a blob name of its own.
 */
export function packageUidFor(feed: string, name: string): string {
  return createHash('sha256').update(`${feed}/${name}`, 'utf8').digest('hex').slice(0, 32);
}
