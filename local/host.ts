import { ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { DefinitionOf, FunctionDefinition } from '../functions/definition';
import { BlobEventScanner } from './blobEventTriggers';
import { startHttpTriggers } from './httpTriggers';
import { LogLine } from './invocation';
import { QueueHostSettings, QueuePoller } from './queueTriggers';
import { startTimers } from './timerTriggers';

/**
 * Runs function declarations the way the Azure Functions host does, on one machine: an HTTP
 * server for HTTP triggers, a container scan for the BlobCreated events Event Grid delivers,
 * queue polling and timers. It holds no business logic: every trigger goes to the declared handler.
 */
export interface LocalHostOptions {
  readonly definitions: readonly FunctionDefinition[];
  readonly port: number;
  /** The address to listen on; 127.0.0.1 (this machine only) unless told. */
  readonly host?: string;
  readonly container: (name: string) => ContainerClient;
  readonly queues: QueueServiceClient;
  /** How often the container is scanned and the queues polled (the host polls at most every 2 s). */
  readonly pollIntervalMs?: number;
  readonly log?: LogLine;
  /** host.json's queue settings; tests shorten the visibility timeout. */
  readonly queueSettings?: QueueHostSettings;
}

export interface LocalHost {
  /** Where the HTTP triggers answer, by the address listened on. */
  readonly url: string;
  readonly port: number;
  /** Runs one container scan and one queue poll now, and waits for the handlers under way. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

function ofKind<K extends FunctionDefinition['kind']>(
  definitions: readonly FunctionDefinition[],
  kind: K,
) {
  return definitions.filter((d): d is DefinitionOf<K> => d.kind === kind);
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { definitions } = options;
  const http = await startHttpTriggers(
    ofKind(definitions, 'http'),
    { port: options.port, host: options.host ?? '127.0.0.1' },
    log,
  );
  const scanner = new BlobEventScanner(ofKind(definitions, 'blobEvents'), options.container, log);
  const poller = new QueuePoller(
    ofKind(definitions, 'queue'),
    options.queues,
    log,
    options.queueSettings,
  );
  const timers = startTimers(ofKind(definitions, 'timer'), log);
  const tick = () => Promise.all([scanner.scan(), poller.poll()]);
  const interval = setInterval(() => void tick(), options.pollIntervalMs ?? 1_000);
  void tick();

  return {
    url: http.url,
    port: http.port,
    async drain() {
      await Promise.all([scanner.scan().then(() => scanner.settled()), poller.poll()]);
    },
    async close() {
      clearInterval(interval);
      timers.stop();
      await Promise.all([scanner.idle(), poller.idle()]);
      await http.close();
    },
  };
}
