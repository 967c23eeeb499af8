import { ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { DefinitionOf, FunctionDefinition } from '../functions/definition';
import { QueueHostSettings, queueHostSettings } from '../shared/config/hostJson';
import { BlobEventScanner, isSubscribed } from './blobEventTriggers';
import { startHttpTriggers } from './httpTriggers';
import { LogLine } from './invocation';
import { QueuePoller } from './queueTriggers';
import { startTimers } from './timerTriggers';

/**
 * Runs function declarations the way the Azure Functions host does, on one machine: an HTTP
 * server for HTTP triggers, queue polling, timers, and a container scan standing in for the
 * Event Grid subscriptions that put blob events into queues. It holds no business logic: every
 * trigger goes to the declared handler.
 */
export interface LocalHostOptions {
  readonly definitions: readonly FunctionDefinition[];
  readonly port: number;
  /** The address to listen on; 127.0.0.1 (this machine only) unless told. */
  readonly host?: string;
  readonly container: (name: string) => ContainerClient;
  readonly queues: QueueServiceClient;
  /** How often the containers are scanned and the queues polled (the host polls at most every 2 s). */
  readonly pollIntervalMs?: number;
  readonly log?: LogLine;
  /** host.json's queue settings, which tests shorten; host.json's own otherwise. */
  readonly queueSettings?: QueueHostSettings;
  /** How long a message under way stays invisible at a time; tests shorten it. */
  readonly messageLeaseSeconds?: number;
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
  const queueFunctions = ofKind(definitions, 'queue');
  const http = await startHttpTriggers(
    ofKind(definitions, 'http'),
    { port: options.port, host: options.host ?? '127.0.0.1' },
    log,
  );
  const scanner = new BlobEventScanner(
    queueFunctions.filter(isSubscribed),
    options.container,
    options.queues,
    log,
  );
  const poller = new QueuePoller(
    queueFunctions,
    options.queues,
    log,
    options.queueSettings ?? queueHostSettings(),
    options.messageLeaseSeconds,
  );
  const timers = startTimers(ofKind(definitions, 'timer'), log);
  const tick = async () => {
    await scanner.scan();
    await poller.poll();
  };
  const interval = setInterval(() => void tick(), options.pollIntervalMs ?? 1_000);
  void tick();

  return {
    url: http.url,
    port: http.port,
    async drain() {
      await tick();
      await poller.settled();
    },
    async close() {
      clearInterval(interval);
      timers.stop();
      await Promise.all([scanner.idle(), poller.idle()]);
      await http.close();
    },
  };
}
