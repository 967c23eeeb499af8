import { isIPv6 } from 'node:net';
import path from 'node:path';
import { definitions } from '../functions/all';
import {
  parseSettings,
  Settings,
  SettingsError,
  storageConfigured,
} from '../shared/config/settings';
import { ensureFeed } from '../shared/feeds/feedTable';
import { DefaultToken, ensureDefaultToken } from '../shared/nuget/defaultToken';
import { createRuntime } from '../shared/runtime';
import { ensureStorage } from '../shared/storage/clients';
import { clientSetup } from '../shared/ui/clientSetup';
import { StorageConnection } from '../shared/storage/connection';
import { startAzurite } from './azurite';
import { LocalHost, startLocalHost } from './host';
import { portFree } from './ports';

const DEFAULT_FEED = 'default';
/** Stopping waits this long for running handlers; what they leave, the next start takes up. */
const STOP_WAIT_MS = 10_000;

/** What is running, stopped in reverse order, once. */
const running: (() => Promise<void>)[] = [];
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (code === 0) console.log('\nStopping symfeed...');
    for (const stopOne of running.reverse()) await stopOne().catch(() => undefined);
  }
  process.exit(code);
}

async function requireFreePorts(ports: Record<string, number>): Promise<void> {
  for (const [what, port] of Object.entries(ports)) {
    if (!(await portFree(port))) {
      const remedy = what === 'symfeed' ? 'PORT' : 'SYMFEED_AZURITE_PORTS';
      throw new Error(
        `port ${port} (${what}) is already in use: stop what uses it or set ${remedy}`,
      );
    }
  }
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // npm runs this under a shell; a shell ended by the SIGTERM npm forwards leaves this process
  // to init, still holding its ports. A new parent means the one that started it is gone.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      console.log('\nThe process that started symfeed has ended.');
      void stop(0);
    }
  }, 1_000).unref();

  // With no storage account configured (a connection string or identity-based settings),
  // symfeed brings its own Azurite. Every setting is checked before anything starts, so that a bad
  // one leaves nothing running.
  const embedded = !storageConfigured(process.env);
  const settings = parseSettings(process.env, { azuriteWhenUnset: true });
  const ports = settings.SYMFEED_AZURITE_PORTS;
  await requireFreePorts(
    embedded
      ? {
          symfeed: settings.PORT,
          'Azurite blob': ports.blob,
          'Azurite queue': ports.queue,
          'Azurite table': ports.table,
        }
      : { symfeed: settings.PORT },
  );
  if (embedded) {
    const azurite = await startAzurite({
      ports,
      location: path.resolve(settings.SYMFEED_AZURITE_LOCATION),
    });
    running.push(() => azurite.stop());
    // The function handlers read their settings from the environment.
    process.env.AzureWebJobsStorage = azurite.connectionString;
  }
  const rt = createRuntime(settings);
  await ensureStorage(rt.storage);
  await ensureFeed(rt.storage.feedsTable, { name: DEFAULT_FEED, visibility: 'public' });
  const token = await ensureDefaultToken(rt.storage, settings.SYMFEED_DEFAULT_TOKEN);
  const host = await startLocalHost({
    definitions,
    port: settings.PORT,
    host: settings.HOST,
    container: (name) => rt.storage.blobs.getContainerClient(name),
    queues: rt.storage.queues,
  });
  running.push(() =>
    Promise.race([host.close(), new Promise<void>((done) => setTimeout(done, STOP_WAIT_MS))]),
  );
  console.log(printout(host, token, settings, embedded));
}

function tokenLines(token: DefaultToken, source: string, cli: string): string {
  const push = (apiKey: string) =>
    `    nuget push my.nupkg -Source ${source} -ApiKey ${apiKey}\n` +
    `    nuget list -Source ${source} -AllVersions -PreRelease`;
  switch (token.kind) {
    case 'configured':
      return `  Push with NuGet, with the token in SYMFEED_DEFAULT_TOKEN (it pushes, deletes and reads on "${DEFAULT_FEED}"):
${push('$SYMFEED_DEFAULT_TOKEN')}`;
    case 'made':
      return `  Push with NuGet, with this token (token ${token.info.id}, expires ${token.info.expiresAt}; it pushes,
  deletes and reads on "${DEFAULT_FEED}"). Keep it: it is shown only now, and the next starts reuse it.
${push(token.token)}`;
    case 'kept':
      return `  Push with NuGet, with the token an earlier start printed (token ${token.info.id}, expires
  ${token.info.expiresAt}; only its hash is kept, so it cannot be shown again). For a new one,
  revoke it and start again:
    ${cli}npx symfeed token revoke ${token.info.id}
${push('<that token>')}`;
  }
}

/** How `az storage blob upload` reaches the account: Azurite's key, or the user's own sign-in. */
function azAccount(storage: StorageConnection, embedded: boolean): string {
  if (storage.kind === 'identity')
    return `--blob-endpoint ${storage.endpoints.blob} --auth-mode login`;
  return `--connection-string "${embedded ? storage.connectionString : '$AzureWebJobsStorage'}"`;
}

/** Where the host listens, and who can reach it there. */
function listening(address: string, port: number): string {
  const where = `${isIPv6(address) ? `[${address}]` : address}:${port}`;
  if (address === '127.0.0.1' || address === '::1' || address === 'localhost') {
    return `Listening on ${where}, this machine only (HOST=0.0.0.0 listens on every address).`;
  }
  const whom =
    address === '0.0.0.0' || address === '::'
      ? 'every address of this machine: other machines reach it by its name or address'
      : 'that address alone';
  return `Listening on ${where} (HOST), ${whom}.`;
}

function printout(
  host: LocalHost,
  token: DefaultToken,
  settings: Settings,
  embedded: boolean,
): string {
  const setup = clientSetup(host.url, DEFAULT_FEED, false);
  const source = setup.nuget;
  // The symfeed command finds storage as npm start does: the AzureWebJobsStorage settings, else
  // the Azurite of SYMFEED_AZURITE_PORTS.
  const cli = !embedded
    ? `${settings.storage.kind === 'identity' ? 'AzureWebJobsStorage__...' : 'AzureWebJobsStorage'}=... `
    : process.env.SYMFEED_AZURITE_PORTS
      ? `SYMFEED_AZURITE_PORTS=${process.env.SYMFEED_AZURITE_PORTS} `
      : '';
  return `
symfeed is running${embedded ? ` on its own Azurite (data in ${settings.SYMFEED_AZURITE_LOCATION})` : ''}.
${listening(settings.HOST, host.port)}

  Web page:      ${host.url}/
                 (the feeds, their packages, why a symbol is missing, what debuggers missed)

  Symbol server (SSQP) for the public feed "${DEFAULT_FEED}":
    ${setup.symbols}

${setup.lines.map(({ client, line }) => `  ${`${client}:`.padEnd(15)}${line}`).join('\n')}
                 (gdb asks before it uses debuginfod: put "set debuginfod enabled on" in ~/.gdbinit)
  Health:        ${host.url}/health
${settings.SYMFEED_METRICS_ENDPOINT === 'on' ? `  Metrics:       ${host.url}/metrics (Prometheus text)\n` : ''}
${tokenLines(token, source, cli)}

  Or upload any zip package straight into the feed's folder:
    az storage blob upload ${azAccount(settings.storage, embedded)} \\
      --container-name packages --name ${DEFAULT_FEED}/my-package.zip --file my-package.zip

Press Ctrl-C to stop.
`;
}

main().catch(async (error: Error) => {
  console.error(
    error instanceof SettingsError ? error.message : `symfeed cannot start: ${error.message}`,
  );
  await stop(1);
});
