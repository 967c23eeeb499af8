import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * host.json's `extensions.queues`: how the Functions host runs every queue-triggered function.
 * They are set in host.json only; the handlers and the local host read them from there.
 */
export interface QueueHostSettings {
  /** Messages taken from a queue at once. */
  readonly batchSize: number;
  /** A further batch is taken once no more than this many messages of the queue are under way. */
  readonly newBatchThreshold: number;
  /** The attempt after which a failing message goes to `{queue}-poison`. */
  readonly maxDequeueCount: number;
  /** How long a failed message stays invisible before its next attempt. */
  readonly visibilityTimeoutSeconds: number;
  /** The longest wait between polls of an empty queue. */
  readonly maxPollingIntervalMs: number;
  /** How message text is read: base64 (the host's default, and what Event Grid writes) or as is. */
  readonly messageEncoding: 'base64' | 'none';
}

/** A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fffffff]`. */
const timeSpan = z
  .string()
  .regex(
    /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d{1,7})?)$/,
    'must be a time span, hh:mm:ss such as 00:00:30',
  )
  .transform((text) => {
    const [, days = '0', hours = '0', minutes = '0', seconds = '0'] =
      /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):([\d.]+)$/.exec(text) ?? [];
    return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds);
  });

/** The Functions host's own defaults (storage queues extension 5.x) for what host.json leaves out. */
const queuesSchema = z
  .object({
    batchSize: z.number().int().min(1).max(32).default(16),
    newBatchThreshold: z.number().int().min(0).optional(),
    maxDequeueCount: z.number().int().min(1).default(5),
    visibilityTimeout: timeSpan.default(0),
    maxPollingInterval: timeSpan.default(60),
    messageEncoding: z.enum(['base64', 'none']).default('base64'),
  })
  .transform((queues): QueueHostSettings => ({
    batchSize: queues.batchSize,
    newBatchThreshold:
      queues.newBatchThreshold ?? Math.floor(queues.batchSize / 2) * availableParallelism(),
    maxDequeueCount: queues.maxDequeueCount,
    visibilityTimeoutSeconds: queues.visibilityTimeout,
    maxPollingIntervalMs: queues.maxPollingInterval * 1000,
    messageEncoding: queues.messageEncoding,
  }));

const hostJsonSchema = z.object({
  extensions: z.object({ queues: queuesSchema.prefault({}) }).prefault({}),
});

/** The queue settings of a host.json document; the message names what is wrong. */
export function queueSettingsOf(document: unknown): QueueHostSettings {
  const parsed = hostJsonSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new Error(`host.json: ${problems.join('; ')}`);
  }
  return parsed.data.extensions.queues;
}

/**
 * The app's root folder, the one holding host.json, above the code that reads it: `shared/config`
 * when run from source, `dist/shared/config` when built, and the same on Azure.
 */
export function appRoot(): string {
  for (let folder = __dirname; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'host.json'))) return folder;
    if (path.dirname(folder) === folder) {
      throw new Error(`host.json not found in ${__dirname} or any folder above it`);
    }
  }
}

let cached: QueueHostSettings | undefined;

/** host.json's queue settings, read once. */
export function queueHostSettings(): QueueHostSettings {
  cached ??= queueSettingsOf(JSON.parse(readFileSync(path.join(appRoot(), 'host.json'), 'utf8')));
  return cached;
}
