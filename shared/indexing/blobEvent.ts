import { z } from 'zod';
import { feedNameSchema } from '../feeds/feedName';
import { CONTAINERS } from '../storage/clients';
import { describeIssues } from '../util/issues';

/**
 * One event in the Event Grid schema, as a storage-queue subscription writes it: one event a
 * message (never an array), its JSON base64-encoded, which the queue trigger decodes and parses.
 */
export const eventGridEventSchema = z.object({
  id: z.string().min(1),
  topic: z.string(),
  subject: z.string().min(1),
  eventType: z.string().min(1),
  eventTime: z.string(),
  data: z.record(z.string(), z.unknown()),
  dataVersion: z.string(),
  metadataVersion: z.string(),
});
export type EventGridEvent = z.infer<typeof eventGridEventSchema>;

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
export const BLOB_DELETED = 'Microsoft.Storage.BlobDeleted';

/** What a message of the package-events queue asks for. */
export type PackageEvent =
  | { kind: 'created' | 'deleted'; feed: string; name: string }
  /** An event of another type, or of a blob that is not a package: nothing to do. */
  | { kind: 'ignored'; reason: string }
  /** Not an Event Grid event: no retry can mend it. */
  | { kind: 'malformed'; reason: string };

/** The subject Azure Storage gives the events of a blob. */
export function blobEventSubject(container: string, blobName: string): string {
  return `/blobServices/default/containers/${container}/blobs/${blobName}`;
}

const SUBJECT_PREFIX = blobEventSubject(CONTAINERS.packages, '');

/** Reads a queue message as the storage account's blob event it should be. */
export function packageEventOf(message: unknown): PackageEvent {
  const parsed = eventGridEventSchema.safeParse(message);
  if (!parsed.success) {
    const cloudEvent = typeof message === 'object' && message !== null && 'specversion' in message;
    return {
      kind: 'malformed',
      reason: cloudEvent
        ? 'a CloudEvents event: give the Event Grid subscription the event schema EventGridSchema'
        : `not an event in the Event Grid schema (${describeIssues(parsed.error)})`,
    };
  }
  const { eventType, subject } = parsed.data;
  if (eventType !== BLOB_CREATED && eventType !== BLOB_DELETED) {
    return { kind: 'ignored', reason: `${eventType} events are not for the indexer` };
  }
  if (!subject.startsWith(SUBJECT_PREFIX)) {
    return {
      kind: 'ignored',
      reason: `blob ${subject} is not in the ${CONTAINERS.packages} container`,
    };
  }
  const blobName = subject.slice(SUBJECT_PREFIX.length);
  const slash = blobName.indexOf('/');
  const feed = blobName.slice(0, slash);
  const name = blobName.slice(slash + 1);
  if (slash < 0 || name === '' || !feedNameSchema.safeParse(feed).success) {
    return {
      kind: 'ignored',
      reason: `blob "${blobName}" is not at {feed}/{name}: packages go into a feed's folder, e.g. default/my-package.zip`,
    };
  }
  return { kind: eventType === BLOB_CREATED ? 'created' : 'deleted', feed, name };
}
