import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';

/**
 * The expected keys of the fixture binaries, as each fixture script recorded them from
 * independent tools (llvm-readobj, llvm-pdbutil, readelf, llvm-objdump): never from symfeed.
 */
export interface FixtureFile {
  readonly name: string;
  readonly path: string;
  readonly keys: readonly string[];
}

export const FIXTURES = path.join(__dirname, '../fixtures');
export const SHARED_PORTABLE_PDB = path.join(__dirname, '../../../shared/fixtures/portable-pdb');

type Expected = Record<string, { keys: (string | { key: string })[] }>;

/** Every fixture with an expected-keys.json entry, found in `folder` (or, for shared files, `filesIn`). */
export function fixtureFiles(folder: string, filesIn = path.join(FIXTURES, folder)): FixtureFile[] {
  const expected = JSON.parse(
    readFileSync(path.join(FIXTURES, folder, 'expected-keys.json'), 'utf8'),
  ) as Expected;
  return Object.entries(expected).map(([name, { keys }]) => ({
    name,
    path: path.join(filesIn, name),
    keys: keys.map((k) => (typeof k === 'string' ? k : k.key)),
  }));
}

/** ../shared/fixtures is beside the repository on every machine and in CI; say so if it is not. */
export function requireSharedFixtures(): void {
  if (!existsSync(SHARED_PORTABLE_PDB) || readdirSync(SHARED_PORTABLE_PDB).length === 0) {
    throw new Error(
      `the portable PDB fixtures are missing: expected them in ${SHARED_PORTABLE_PDB} (../shared/fixtures)`,
    );
  }
}

/** The first 64 bytes of every fixture file outside `folder`: what another format's detect must refuse. */
export function otherFixtureHeads(folder: string): { file: string; head: Buffer }[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== folder)
    .flatMap((dir) =>
      readdirSync(path.join(FIXTURES, dir.name), { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(FIXTURES, dir.name, entry.name)),
    )
    .map((file) => {
      const fd = openSync(file, 'r');
      try {
        const bytes = Buffer.alloc(64);
        return { file, head: bytes.subarray(0, readSync(fd, bytes, 0, 64, 0)) };
      } finally {
        closeSync(fd);
      }
    });
}
