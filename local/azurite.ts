import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}

/** Azurite's well-known development account; it is public and only ever valid on Azurite. */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function azuriteConnectionString(ports: AzuritePorts, host = '127.0.0.1'): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${ACCOUNT}`,
    `AccountKey=${ACCOUNT_KEY}`,
    `BlobEndpoint=http://${host}:${ports.blob}/${ACCOUNT}`,
    `QueueEndpoint=http://${host}:${ports.queue}/${ACCOUNT}`,
    `TableEndpoint=http://${host}:${ports.table}/${ACCOUNT}`,
  ].join(';');
}

export interface RunningAzurite {
  readonly connectionString: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  ports: AzuritePorts;
  /** Folder for Azurite's data; omit to keep everything in memory. */
  location?: string;
}

/**
 * Runs the script after `--` (Azurite's) with the arguments after it, and stops it when the IPC
 * channel to the parent closes: that happens however the parent ends, SIGKILL included, so
 * Azurite never outlives it holding its ports. SIGTERM is Azurite's own graceful stop.
 */
const LAUNCHER = `
process.on('disconnect', () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(0), 5000).unref();
});
// Listening must not keep Azurite alive once its servers have closed.
process.channel.unref();
require(process.argv[1]);
`;

/**
 * Starts the Azurite that npm installed, as a child process that ends with this one, and waits
 * until all three services listen.
 */
export async function startAzurite(options: AzuriteOptions): Promise<RunningAzurite> {
  const args = [
    '-e',
    LAUNCHER,
    '--',
    require.resolve('azurite/dist/src/azurite.js'),
    '--silent',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--blobPort',
    String(options.ports.blob),
    '--queuePort',
    String(options.ports.queue),
    '--tablePort',
    String(options.ports.table),
  ];
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // The channel is there to close when this process ends; it must not keep this one alive.
  child.channel?.unref();
  await waitUntilListening(child);
  return {
    connectionString: azuriteConnectionString(options.ports),
    stop: () => stopChild(child),
  };
}

function waitUntilListening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const listening = new Set<string>();
    const onData = (data: Buffer) => {
      output += data.toString();
      for (const service of ['Blob', 'Queue', 'Table']) {
        if (output.includes(`Azurite ${service} service is successfully listening`))
          listening.add(service);
      }
      if (listening.size === 3) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`Azurite exited (code ${code}) before it was ready:\n${output.trim()}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}
