import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import {
  AZURITE_ACCOUNT,
  azuriteConnectionString,
  AzuritePorts,
  StorageConnection,
  StorageEndpoints,
} from '../shared/storage/connection';

export type { AzuritePorts };

export interface RunningAzurite {
  /** With its well-known account key (Azurite also accepts it in OAuth mode). */
  readonly connectionString: string;
  readonly connection: StorageConnection;
  readonly endpoints: StorageEndpoints;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  ports: AzuritePorts;
  /** Folder for Azurite's data; omit to keep everything in memory. */
  location?: string;
  /**
   * HTTPS with this certificate and key (PEM files), and bearer tokens checked as Azure checks
   * them but for their signature (`--oauth basic`, which needs HTTPS).
   */
  oauth?: { cert: string; key: string };
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
  if (options.oauth) {
    args.push('--oauth', 'basic', '--cert', options.oauth.cert, '--key', options.oauth.key);
  }
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
  const scheme = options.oauth ? 'https' : 'http';
  const endpoint = (port: number) => `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const connectionString = azuriteConnectionString(options.ports, '127.0.0.1', scheme);
  return {
    connectionString,
    connection: { kind: 'connectionString', connectionString },
    endpoints: {
      blob: endpoint(options.ports.blob),
      queue: endpoint(options.ports.queue),
      table: endpoint(options.ports.table),
    },
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
