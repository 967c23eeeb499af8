import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { ContainerClient } from '@azure/storage-blob';

export interface Mapping {
  readonly clientKey: string;
  readonly blobPath: string;
}

/**
 * A package made of many stored entries of random bytes, written straight to a file so that one
 * of several hundred MB never sits in memory: the bytes of entry i are a prefix naming it and a
 * window of a shared random pool, so that any entry can be produced again to check what is served.
 */
export class GeneratedPackage {
  private readonly pool: Buffer;

  constructor(
    /** Entry names in file order; the index of a name picks its bytes. */
    readonly names: readonly string[],
    readonly sizeOf: (index: number) => number,
    readonly mappings: readonly Mapping[],
    poolBytes = 16 * 1024 * 1024,
  ) {
    this.pool = randomBytes(poolBytes);
  }

  content(index: number): Buffer {
    const size = this.sizeOf(index);
    const head = Buffer.from(`entry ${index} of ${this.names.length}\n`).subarray(0, size);
    const rest = size - head.length;
    const offset = (index * 104_729) % (this.pool.length - rest);
    return Buffer.concat([head, this.pool.subarray(offset, offset + rest)]);
  }

  contentOf(name: string): Buffer {
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`the package has no entry ${name}`);
    return this.content(index);
  }

  get bytes(): number {
    return this.names.reduce((sum, _, index) => sum + this.sizeOf(index), 0);
  }

  /** Writes the zip (symbol_index.json first, then every entry, stored) to a file. */
  async write(file: string): Promise<void> {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from(JSON.stringify(this.mappings)), 'symbol_index.json');
    this.names.forEach((name, index) => {
      // Lazy: an entry's bytes are made when yazl gets to it, not all at once.
      zip.addReadStreamLazy(name, { compress: false, size: this.sizeOf(index) }, (callback) =>
        callback(null, Readable.from([this.content(index)])),
      );
    });
    zip.end();
    await pipeline(zip.outputStream as Readable, createWriteStream(file));
  }
}

/** Uploads a file as a package blob in 8 MiB blocks, as large uploads and NuGet pushes do. */
export async function uploadFile(
  packages: ContainerClient,
  feed: string,
  name: string,
  file: string,
): Promise<void> {
  await packages
    .getBlockBlobClient(`${feed}/${name}`)
    .uploadFile(file, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
}
