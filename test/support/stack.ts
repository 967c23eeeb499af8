import { definitions } from '../../functions/all';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { LocalHost, startLocalHost } from '../../local/host';
import { freePort, freePorts } from '../../local/ports';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { INDEXED_STATES } from '../../shared/packages/states';
import { readStatusDocument, StatusDocument } from '../../shared/packages/statusDocument';
import { runtime, Runtime } from '../../shared/runtime';
import { ensureStorage } from '../../shared/storage/clients';
import { azuriteConnectionString } from '../../shared/storage/connection';

export interface Stack {
  readonly rt: Runtime;
  readonly host: LocalHost;
  readonly azurite: RunningAzurite;
  readonly logs: string[];
  /** Base URL of the default feed's symbol endpoint. */
  readonly symbols: string;
  upload(name: string, bytes: Buffer, feed?: string): Promise<void>;
  /** Scans the container now and returns the package's status document once it is indexed. */
  indexed(name: string, feed?: string): Promise<StatusDocument>;
  stop(): Promise<void>;
}

export { freePort };

/**
 * A private Azurite on free ports (in memory) and the local host on a free port, with the real
 * function declarations: tests run beside a developer's `npm start`.
 */
export async function startStack(
  env: Record<string, string> = {},
  options: {
    without?: readonly string[];
    /** The port symfeed reaches blobs through, given Azurite's (a proxy that counts requests). */
    blobPort?: (azuriteBlobPort: number) => Promise<number>;
  } = {},
): Promise<Stack> {
  const [blob, queue, table] = await freePorts(3);
  const ports = { blob: blob!, queue: queue!, table: table! };
  const azurite = await startAzurite({ ports });
  const connectionString = options.blobPort
    ? azuriteConnectionString({ ...ports, blob: await options.blobPort(ports.blob) })
    : azurite.connectionString;
  Object.assign(process.env, { AzureWebJobsStorage: connectionString, ...env });
  const rt = runtime();
  await ensureStorage(rt.storage);
  await ensureFeed(rt.storage.feedsTable, { name: 'default', visibility: 'public' });
  const logs: string[] = [];
  const host = await startLocalHost({
    // A test that runs a timer's work itself leaves the timer out, so that the two never race.
    definitions: definitions.filter((definition) => !options.without?.includes(definition.name)),
    port: 0,
    container: (name) => rt.storage.blobs.getContainerClient(name),
    queues: rt.storage.queues,
    pollIntervalMs: 500,
    log: (line) => logs.push(line),
  });
  const stack: Stack = {
    rt,
    host,
    azurite,
    logs,
    symbols: `${host.url}/F/default/symbols`,
    async upload(name, bytes, feed = 'default') {
      await rt.storage.packagesContainer.getBlockBlobClient(`${feed}/${name}`).uploadData(bytes);
    },
    async indexed(name, feed = 'default') {
      const uid = packageUidFor(feed, name);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        await host.drain();
        const doc = await readStatusDocument(rt.storage.statusContainer, feed, uid);
        const blob = await rt.storage.packagesContainer
          .getBlobClient(`${feed}/${name}`)
          .getProperties();
        if (doc && INDEXED_STATES.has(doc.state) && doc.blobEtag === blob.etag) return doc;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(
        `package ${feed}/${name} was not indexed within 60 s; host log:\n${logs.join('\n')}`,
      );
    },
    async stop() {
      await host.close();
      await azurite.stop();
    },
  };
  return stack;
}
