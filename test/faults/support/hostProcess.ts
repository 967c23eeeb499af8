import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/** The built `npm start`: with AzureWebJobsStorage set it runs the local host on that account. */
const START = path.resolve(__dirname, '..', '..', '..', 'dist', 'local', 'start.js');

export interface HostProcess {
  readonly url: string;
  readonly pid: number;
  /** Everything it printed so far, for failure messages. */
  output(): string;
  alive(): boolean;
  /** SIGKILL: no handler runs, nothing is flushed, as when a machine loses power. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `npm start` on a given storage account and port, as a child process of the test, ready when
 * /health answers 200.
 */
export async function startHostProcess(
  storage: string,
  port: number,
  env: Record<string, string> = {},
): Promise<HostProcess> {
  const child = spawn(process.execPath, [START], {
    cwd: path.resolve(__dirname, '..', '..', '..'),
    env: { PATH: process.env.PATH, AzureWebJobsStorage: storage, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the host exited before it was ready:\n${output}`);
    }
    const status = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) })
      .then((response) => response.status)
      .catch(() => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the host did not answer /health with 200 within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    url,
    pid: child.pid ?? 0,
    output: () => output,
    alive,
    kill9: () => ended(child, 'SIGKILL'),
    stop: () => ended(child, 'SIGTERM'),
  };
}

function ended(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}
