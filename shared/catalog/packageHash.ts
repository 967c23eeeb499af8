import { createHash, Hash } from 'node:crypto';
import { BlobClient } from '@azure/storage-blob';

/** The blob metadata a push records the package's SHA-512 in (base64), as it streams the body. */
export const SHA512_METADATA = 'sha512';

export function packageHasher(): Hash {
  return createHash('sha512');
}

/**
 * The SHA-512 of a package the catalog lists: the one its push recorded, else read from the
 * blob once (a blob uploaded straight to storage), conditional on the content indexed.
 */
export async function packageHash(
  blob: BlobClient,
  etag: string,
  metadata: Record<string, string>,
): Promise<string> {
  const recorded = metadata[SHA512_METADATA];
  if (recorded) return recorded;
  const hash = packageHasher();
  const response = await blob.download(0, undefined, { conditions: { ifMatch: etag } });
  for await (const chunk of response.readableStreamBody!) hash.update(chunk as Buffer);
  return hash.digest('base64');
}
