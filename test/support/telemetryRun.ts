import { trace } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  RedactingLogRecordProcessor,
  RedactingSpanProcessor,
} from '../../shared/telemetry/redaction';

/**
 * Run in a process of its own by telemetryRedaction.test.ts (Jest's module registry hides
 * `http` from instrumentation): symfeed's redacting processors ahead of in-memory exporters, the
 * HTTP instrumentation with incoming requests traced too (as if the worker's relay server were:
 * every URL a caller sent becomes span attributes), the local host's log lines sent as log
 * records as the Functions worker's log hook sends them. It drives requests with tokens in the
 * path, in Basic and Bearer credentials and as a NuGet API key, an indexing run and a storage
 * outage, then prints every exported span and log record as JSON.
 */
const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({
    spanProcessors: [new RedactingSpanProcessor(), new SimpleSpanProcessor(spans)],
  }),
);
new HttpInstrumentation();
const records = new InMemoryLogRecordExporter();
const logger = new LoggerProvider({
  processors: [new RedactingLogRecordProcessor(), new SimpleLogRecordProcessor(records)],
}).getLogger('@azure/functions-opentelemetry-instrumentation');

async function main(): Promise<void> {
  // Loaded only now, so that `http` is instrumented as they load it.
  const { definitions } = await import('../../functions/all');
  const { startAzurite } = await import('../../local/azurite');
  const { startLocalHost } = await import('../../local/host');
  const { freePorts } = await import('../../local/ports');
  const { ensureFeed } = await import('../../shared/feeds/feedTable');
  const { createToken } = await import('../../shared/feeds/tokens');
  const { runtime } = await import('../../shared/runtime');
  const { ensureStorage } = await import('../../shared/storage/clients');
  const { makeZip, symbolIndex } = await import('./zips');

  const [blob, queue, table] = await freePorts(3);
  const ports = { blob: blob!, queue: queue!, table: table! };
  const azurite = await startAzurite({ ports });
  process.env.AzureWebJobsStorage = azurite.connectionString;
  const rt = runtime();
  await ensureStorage(rt.storage);
  await ensureFeed(rt.storage.feedsTable, { name: 'priv', visibility: 'private' });
  const { token } = await createToken(rt.storage.tokensTable, {
    feed: 'priv',
    scopes: ['read', 'push', 'delete'],
  });
  const host = await startLocalHost({
    definitions,
    port: 0,
    container: (name) => rt.storage.blobs.getContainerClient(name),
    queues: rt.storage.queues,
    pollIntervalMs: 500,
    log: (line) => logger.emit({ body: line, severityText: 'information' }),
  });

  const key = 'secret.pdb/0123456789abcdef0123456789abcdef1/secret.pdb';
  await rt.storage.packagesContainer.getBlockBlobClient('priv/private.zip').uploadData(
    await makeZip([
      { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: 'a.pdb' }]) },
      { name: 'a.pdb', data: Buffer.alloc(1000, 1) },
    ]),
  );
  await host.drain();

  const t = encodeURIComponent(token);
  const basic = `Basic ${Buffer.from(`user:${token}`).toString('base64')}`;
  const buildId = '0123456789abcdef0123456789abcdef01234567';
  const paths = [
    `/F/priv/auth/${t}/symbols/${key}`,
    `/F/priv/auth/${t}/symbols/missing.pdb/00/missing.pdb`,
    `/F/priv/auth/${t}/buildid/${buildId}/debuginfo`,
    `/F/priv/auth/${t}`,
    `/F/priv/api/v2/auth/${t}/Packages()`,
  ];
  const statuses: number[] = [];
  const send = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${host.url}${path}`, init);
    await response.arrayBuffer();
    statuses.push(response.status);
  };
  for (const path of paths) await send(path);
  for (const authorization of [basic, `Bearer ${token}`]) {
    await send(`/F/priv/symbols/${key}`, { headers: { Authorization: authorization } });
    await send('/F/priv/api/v3/index.json', { headers: { Authorization: authorization } });
  }
  const nupkg = await makeZip([
    {
      name: 'Redact.nuspec',
      data: '<?xml version="1.0"?><package><metadata><id>Redact</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>',
    },
  ]);
  await send('/F/priv/api/v2/package', {
    method: 'PUT',
    headers: { 'X-NuGet-ApiKey': token, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(nupkg),
  });
  await host.drain();
  // A failed answer of symfeed's own is logged with the request's path: a key never asked for,
  // as the file asked above is now served from memory (token, location and bytes).
  await azurite.stop();
  await send(`/F/priv/auth/${t}/symbols/unasked.pdb/00/unasked.pdb`);
  await host.close();

  const secrets = [token, t, basic.slice('Basic '.length), token.slice(3)];
  process.stdout.write(
    `${JSON.stringify({
      secrets,
      statuses,
      spans: spans.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
      })),
      logs: records.getFinishedLogRecords().map((record) => ({
        body: record.body,
        attributes: record.attributes,
      })),
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
