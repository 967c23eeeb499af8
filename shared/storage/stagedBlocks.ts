import {
  BlockBlobClient,
  BlockBlobCommitBlockListOptions,
  BlockBlobCommitBlockListResponse,
} from '@azure/storage-blob';

/** Azure allows 4,000 MiB per block and 50,000 blocks; 4 MiB keeps the memory of one stream small. */
export const BLOCK_BYTES = 4 * 1024 ** 2;

/**
 * A block blob written as its bytes arrive: staged in blocks of BLOCK_BYTES, and committed only
 * once whole. Until then no reader sees any of it, and storage drops uncommitted blocks within a
 * week, so a stream that breaks off, runs over a limit or fails a check leaves nothing behind.
 */
export class StagedBlocks {
  private readonly ids: string[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly blob: BlockBlobClient) {}

  async add(bytes: Buffer): Promise<void> {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= BLOCK_BYTES) await this.stage();
  }

  /** Commits what was staged (no blocks: an empty blob). */
  async commit(
    options: BlockBlobCommitBlockListOptions,
  ): Promise<BlockBlobCommitBlockListResponse> {
    if (this.pendingBytes > 0) await this.stage();
    return this.blob.commitBlockList(this.ids, options);
  }

  private async stage(): Promise<void> {
    const id = Buffer.from(String(this.ids.length).padStart(8, '0')).toString('base64');
    await this.blob.stageBlock(id, Buffer.concat(this.pending), this.pendingBytes);
    this.ids.push(id);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** Blob metadata is ASCII only: values that may not be (owners, file names, URLs) go percent-encoded. */
export function percentEncoded(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata).map(([name, value]) => [name, encodeURIComponent(value)]),
  );
}
