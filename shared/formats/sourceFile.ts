import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DerivedKey, keyFileName } from './keyGenerator';

/** The SymbolSource symbol-package layout keeps the sources a PDB names under src/. */
export function isSourcePath(path: string): boolean {
  return /^src\//i.test(path);
}

/** The SHA1 convention: hashes the file as it streams by, once. */
export async function sourceFileKey(path: string, content: Readable): Promise<DerivedKey> {
  const hash = createHash('sha1');
  for await (const chunk of content) hash.update(chunk as Buffer);
  const name = keyFileName(path);
  return { key: `${name}/sha1-${hash.digest('hex')}/${name}`, convention: 'sha1' };
}
