import path from 'node:path';

/** The checkout: this file runs from dist/bench/support/. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const ELF_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'elf');
export const LATEST_JSON = path.join(ROOT, 'bench', 'latest.json');
/** The last quick and the last full run, side by side in `npm run bench -- --table`. */
export const LATEST_RUN_JSON = {
  quick: path.join(ROOT, 'bench', 'latest-quick.json'),
  full: path.join(ROOT, 'bench', 'latest-full.json'),
};
