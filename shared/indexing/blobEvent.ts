import { z } from 'zod';
import { feedNameSchema } from '../feeds/feedName';
import { CONTAINERS } from '../storage/clients';

/** The part of an Event Grid BlobCreated or BlobDeleted event symfeed relies on. */
export const blobEventSchema = z.object({
  eventType: z.enum(['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted']),
  subject: z.string(),
});

type BlobName = { ok: true; feed: string; name: string } | { ok: false; reason: string };
export type PackageBlobRef =
  (BlobName & { ok: false }) | (BlobName & { ok: true; deleted: boolean });

/** The subject Azure Storage gives the events of a blob. */
export function blobEventSubject(container: string, blobName: string): string {
  return `/blobServices/default/containers/${container}/blobs/${blobName}`;
}

const SUBJECT_PREFIX = blobEventSubject(CONTAINERS.packages, '');

/** Packages live at packages/{feed}/{name}; anything else in the container is not a package. */
export function packageBlobFromEvent(event: unknown): PackageBlobRef {
  const parsed = blobEventSchema.safeParse(event);
  if (!parsed.success) return { ok: false, reason: 'not a BlobCreated or BlobDeleted event' };
  const { subject, eventType } = parsed.data;
  if (!subject.startsWith(SUBJECT_PREFIX)) {
    return { ok: false, reason: `blob ${subject} is not in the ${CONTAINERS.packages} container` };
  }
  const ref = packageBlobFromName(subject.slice(SUBJECT_PREFIX.length));
  return ref.ok ? { ...ref, deleted: eventType === 'Microsoft.Storage.BlobDeleted' } : ref;
}

function packageBlobFromName(blobName: string): BlobName {
  const slash = blobName.indexOf('/');
  const feed = blobName.slice(0, slash);
  const name = blobName.slice(slash + 1);
  if (slash < 0 || name === '' || !feedNameSchema.safeParse(feed).success) {
    return {
      ok: false,
      reason: `blob "${blobName}" is not at {feed}/{name}: packages go into a feed's folder, e.g. default/my-package.zip`,
    };
  }
  return { ok: true, feed, name };
}
