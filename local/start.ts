import { createServer } from 'node:net';
import path from 'node:path';
import { definitions } from '../functions/all';
import { parseSettings, SettingsError } from '../shared/config/settings';
import { ensureFeed } from '../shared/feeds/feedTable';
import { ensureDefaultToken } from '../shared/nuget/defaultToken';
import { createRuntime } from '../shared/runtime';
import { ensureStorage } from '../shared/storage/clients';
import {
  azuriteConnectionString,
  RunningAzurite,
  STANDARD_AZURITE_PORTS,
  startAzurite,
} from './azurite';
import { startLocalHost } from './host';

const DEFAULT_FEED = 'default';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .once('listening', () => probe.close(() => resolve(true)))
      .listen(port);
  });
}

async function requireFreePorts(ports: Record<string, number>): Promise<void> {
  for (const [what, port] of Object.entries(ports)) {
    if (!(await portFree(port))) {
      throw new Error(
        `port ${port} (${what}) is already in use: stop what uses it${what === 'symfeed' ? ' or set PORT' : ''}`,
      );
    }
  }
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 7071);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SettingsError(`symfeed cannot start: setting PORT is invalid (${process.env.PORT})`);
  }
  // With no storage account configured, symfeed brings its own Azurite, data in .azurite/.
  let azurite: RunningAzurite | undefined;
  if (!process.env.AzureWebJobsStorage) {
    await requireFreePorts({
      symfeed: port,
      'Azurite blob': STANDARD_AZURITE_PORTS.blob,
      'Azurite queue': STANDARD_AZURITE_PORTS.queue,
      'Azurite table': STANDARD_AZURITE_PORTS.table,
    });
    azurite = await startAzurite({
      ports: STANDARD_AZURITE_PORTS,
      location: path.resolve('.azurite'),
    });
    process.env.AzureWebJobsStorage = azurite.connectionString;
  } else {
    await requireFreePorts({ symfeed: port });
  }
  const rt = createRuntime(parseSettings(process.env));
  await ensureStorage(rt.storage);
  await ensureFeed(rt.storage.feedsTable, { name: DEFAULT_FEED, visibility: 'public' });
  const { token } = await ensureDefaultToken(rt.storage, process.env.SYMFEED_DEFAULT_TOKEN);
  const host = await startLocalHost({
    definitions,
    port,
    container: (name) => rt.storage.blobs.getContainerClient(name),
    queues: rt.storage.queues,
  });

  const symbols = `${host.url}/F/${DEFAULT_FEED}/symbols`;
  // The az CLI does not understand the UseDevelopmentStorage=true shorthand; spell it out.
  const uploadConnection = azurite
    ? azuriteConnectionString(STANDARD_AZURITE_PORTS)
    : '$AzureWebJobsStorage';
  console.log(`
symfeed is running${azurite ? ' on embedded Azurite (data in .azurite/)' : ''}.

  Symbol server (SSQP) for the public feed "${DEFAULT_FEED}":
    ${symbols}

  Visual Studio: Tools > Options > Debugging > Symbols, add ${symbols}
  WinDbg:        .sympath srv*C:\\symbols*${symbols}
  dotnet-symbol: dotnet-symbol --server-path ${symbols} <dump or binary>
  Health:        ${host.url}/health

  Push with NuGet (the token pushes, deletes and reads on "${DEFAULT_FEED}"; set SYMFEED_DEFAULT_TOKEN
  to keep one token across restarts):
    nuget push my.nupkg -Source ${host.url}/F/${DEFAULT_FEED}/api/v3/index.json -ApiKey ${token}
    nuget list -Source ${host.url}/F/${DEFAULT_FEED}/api/v3/index.json -AllVersions -PreRelease

  Or upload any zip package straight into the feed's folder:
    az storage blob upload --connection-string "${uploadConnection}" \\
      --container-name packages --name ${DEFAULT_FEED}/my-package.zip --file my-package.zip

Press Ctrl-C to stop.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping symfeed...');
    await host.close();
    await azurite?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: Error) => {
  console.error(
    error instanceof SettingsError ? error.message : `symfeed cannot start: ${error.message}`,
  );
  process.exit(1);
});
