import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of the processes in a run, from /proc: on two cores shared by symfeed, Azurite and
 * the load generator, it shows which of them a figure was waiting on.
 */
const TICKS_PER_SECOND = 100;

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces, start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The child process of this one whose command line mentions `needle` (Azurite, say). */
export function childPid(needle: string): number | undefined {
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim();
    for (const pid of children.split(' ').filter(Boolean).map(Number)) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) return pid;
    }
  }
  return undefined;
}

export type CpuSplit = Record<string, number>;

/** Starts a measurement; calling the result gives each process's share of one core, in %. */
export function cpuMeter(pids: Record<string, number | undefined>): () => CpuSplit {
  const started = process.hrtime.bigint();
  const before = Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [name, pid ? cpuSecondsOf(pid) : NaN]),
  );
  return () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => {
        const used = pid ? cpuSecondsOf(pid) - (before[name] ?? NaN) : NaN;
        return [name, Math.round((used / seconds) * 100)];
      }),
    );
  };
}
