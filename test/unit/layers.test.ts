import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The local host emulates Azure's triggers for `npm start`; the domain (shared/) and the symfeed
 * command (cli/), which run without it, import nothing of it.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function sources(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(folder, file));
}

it.each(['cli', 'shared'])('%s/ imports nothing from local/', (folder) => {
  const offenders = sources(folder).filter((file) =>
    /from '(\.\.\/)+local\//.test(readFileSync(path.join(ROOT, file), 'utf8')),
  );
  expect(offenders).toEqual([]);
});

/**
 * The process's runtime (settings, storage, caches) is the registrations' to hand out: the domain
 * declares the ports each handler uses and is given those, never the runtime whole.
 */
it('shared/ imports the runtime nowhere but in runtime.ts', () => {
  const offenders = sources('shared').filter(
    (file) =>
      file !== path.join('shared', 'runtime.ts') &&
      /from '(\.\/|(\.\.\/)+)runtime'/.test(readFileSync(path.join(ROOT, file), 'utf8')),
  );
  expect(offenders).toEqual([]);
});
