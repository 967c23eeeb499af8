import { childPid } from '../../bench/support/cpu';

/**
 * The Azurite child process of this test process that serves the blob endpoint of a connection
 * string: tests stop it, freeze it (SIGSTOP) and thaw it (SIGCONT) to make storage fail for real.
 */
export function azuritePid(connectionString: string): number {
  const port = /BlobEndpoint=https?:\/\/[^:/]+:(\d+)/.exec(connectionString)?.[1];
  if (!port) throw new Error('the connection string names no blob port');
  // Command line arguments are separated by NUL bytes in /proc/{pid}/cmdline.
  const pid = childPid(`--blobPort\u0000${port}\u0000`);
  if (!pid) throw new Error(`no Azurite child process listens on blob port ${port}`);
  return pid;
}

export function freeze(pid: number): void {
  process.kill(pid, 'SIGSTOP');
}

export function thaw(pid: number): void {
  process.kill(pid, 'SIGCONT');
}
