import { ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface ServerOptions {
  readonly name: string;
  readonly storage: string;
  /** 'http' serves only; 'all' also indexes, deletes and runs timers. */
  readonly roles: 'all' | 'http';
  readonly env?: Record<string, string>;
  /** Folder for a V8 CPU profile of this server (`node --cpu-prof`), written when it stops. */
  readonly profileDir?: string;
}

export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Resident set now and at its peak (VmHWM), in MiB, from /proc. */
  memory(): { rssMB: number; peakRssMB: number };
  /** Its JavaScript heap in use, in MiB, asked over the IPC channel. */
  heapUsedMB(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts dist/bench/server.js as a child process and waits until it listens. */
export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  const execArgv = options.profileDir
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        options.profileDir,
        '--cpu-prof-name',
        `${options.name}.cpuprofile`,
      ]
    : [];
  const child = fork(path.join(__dirname, '..', 'server.js'), [], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      AzureWebJobsStorage: options.storage,
      BENCH_ROLES: options.roles,
      BENCH_VERBOSE: process.env.BENCH_VERBOSE ?? '',
      ...options.env,
    },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'ready' && message.url) resolve(message.url);
    });
    child.once('exit', (code) =>
      reject(new Error(`bench server ${options.name} exited (${code})`)),
    );
  });
  const pid = child.pid ?? 0;
  return {
    name: options.name,
    url,
    pid,
    memory: () => memoryOf(pid),
    heapUsedMB: () =>
      new Promise((resolve) => {
        const onMessage = (message: { type?: string; heapUsed?: number }) => {
          if (message.type !== 'heap') return;
          child.off('message', onMessage);
          resolve((message.heapUsed ?? NaN) / 1024 / 1024);
        };
        child.on('message', onMessage);
        child.send('heap');
      }),
    stop: () => stopChild(child),
  };
}

function memoryOf(pid: number): { rssMB: number; peakRssMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: kB('VmRSS') / 1024, peakRssMB: kB('VmHWM') / 1024 };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.send('stop');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}
