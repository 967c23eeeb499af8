import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathSource } from '../shared/formats/byteSource';
import { KeyedFile } from '../shared/formats/deriveKeys';

/** Every file under a folder, as key derivation sees it, named by its "/"-separated relative path. */
export async function folderFiles(root: string): Promise<(KeyedFile & { path: string })[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const full = path.join(entry.parentPath, entry.name);
        return diskFile(full, path.relative(root, full).split(path.sep).join('/'));
      }),
  );
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function diskFile(full: string, name: string): Promise<KeyedFile & { path: string }> {
  const { size } = await stat(full);
  return {
    name,
    path: full,
    // Size alone: telling apart two same-sized files with one key would mean hashing both.
    fingerprint: String(size),
    source: async () => pathSource(full, size),
    stream: async () => createReadStream(full),
  };
}
