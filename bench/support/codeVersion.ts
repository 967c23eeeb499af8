import { execFileSync } from 'node:child_process';
import { ROOT } from './paths';

/**
 * The commit a run measured, `-dirty` when the work tree had changes (git describe's form), so a
 * table of runs made at different times says which code each measured; undefined outside git.
 */
export function codeVersion(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}
