import { Readable } from 'node:stream';
import { ReadableStream as WebStream } from 'node:stream/web';
import { BlockBlobClient } from '@azure/storage-blob';
import { StagedBlocks } from '../storage/stagedBlocks';
import { packageHasher, SHA512_METADATA } from '../catalog/packageHash';
import { packageBlob } from '../packages/package';
import { StorageClients } from '../storage/clients';
import { MirrorError, MirrorSource } from './mirrorSource';

/** Where the copy came from, in its blob metadata (percent-encoded: metadata is ASCII). */
const SOURCE_METADATA = 'mirrorof';

export interface CopyRequest {
  readonly feed: string;
  /** The copy's blob name in the feed: one per source package, so a copy again overwrites. */
  readonly name: string;
  /** Where the source serves the package as uploaded. */
  readonly url: string;
  /** The package, in messages. */
  readonly what: string;
  /** The SHA-512 (base64) the source lists for it, when it lists one. */
  readonly sha512?: string;
}

/**
 * Streams a package of the source into the mirror feed. Skipped when the copy there is of it
 * already (uploading the same bytes again would give the blob a new ETag, and the indexer would
 * index it again), and when the source has it no more (404: its delete follows).
 */
export async function copyInto(
  storage: Pick<StorageClients, 'packagesContainer'>,
  source: MirrorSource,
  request: CopyRequest,
): Promise<'copied' | 'skipped'> {
  const blob = storage.packagesContainer.getBlockBlobClient(packageBlob(request));
  if (await copiedAlready(blob, request)) return 'skipped';
  const response = await source.get(request.url);
  if (response.status === 404) {
    await response.body?.cancel();
    return 'skipped';
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new MirrorError(
      `the source answered ${response.status} to the download of ${request.what}`,
    );
  }
  const staged = await stageBlocks(blob, Readable.fromWeb(response.body as WebStream<Uint8Array>));
  if (request.sha512 && staged.sha512 !== request.sha512) {
    throw new MirrorError(
      `${request.what} downloaded from the source does not match the SHA-512 the source lists`,
    );
  }
  // Committed only now: the indexer never sees a half copy, and a run cut off leaves none.
  await staged.blocks.commit({
    metadata: {
      [SHA512_METADATA]: staged.sha512,
      [SOURCE_METADATA]: encodeURIComponent(request.url),
    },
  });
  return 'copied';
}

/**
 * Whether the copy there is of this package: by SHA-512 where the source lists one, else by the
 * URL it came from (a v2 id and version, a catalog upload, never changes content).
 */
async function copiedAlready(blob: BlockBlobClient, request: CopyRequest): Promise<boolean> {
  let metadata: Record<string, string>;
  try {
    metadata = (await blob.getProperties()).metadata ?? {};
  } catch {
    return false;
  }
  return request.sha512
    ? metadata[SHA512_METADATA] === request.sha512
    : metadata[SOURCE_METADATA] === encodeURIComponent(request.url);
}

async function stageBlocks(
  blob: BlockBlobClient,
  body: Readable,
): Promise<{ blocks: StagedBlocks; sha512: string }> {
  const hash = packageHasher();
  const blocks = new StagedBlocks(blob);
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    await blocks.add(bytes);
  }
  return { blocks, sha512: hash.digest('base64') };
}
