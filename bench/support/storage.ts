import { Readable } from 'node:stream';
import yazl from 'yazl';
import { AzuritePorts, RunningAzurite, startAzurite } from '../../local/azurite';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { packageUidFor } from '../../shared/packages/packageUid';
import { INDEXED_STATES } from '../../shared/packages/states';
import { readStatusDocument, StatusDocument } from '../../shared/packages/statusDocument';
import { createStorageClients, ensureStorage, StorageClients } from '../../shared/storage/clients';
import { freePorts } from '../../local/ports';

export interface BenchStorage {
  readonly azurite: RunningAzurite;
  readonly ports: AzuritePorts;
  readonly connectionString: string;
  readonly clients: StorageClients;
}

/** A private, in-memory Azurite on free ports with symfeed's containers, tables and feeds. */
export async function startBenchStorage(feeds: readonly string[]): Promise<BenchStorage> {
  const [blob, queue, table] = await freePorts(3);
  const ports = { blob: blob!, queue: queue!, table: table! };
  const azurite = await startAzurite({ ports });
  const clients = createStorageClients(azurite.connection);
  await ensureStorage(clients);
  for (const name of feeds) await ensureFeed(clients.feedsTable, { name, visibility: 'public' });
  return { azurite, ports, connectionString: azurite.connectionString, clients };
}

export type ZipWriter = (zip: yazl.ZipFile) => void;

/**
 * Blobs go up as 8 MiB staged blocks, as large uploads and NuGet pushes do. The raw baselines are
 * stored the same way as the packages: Azurite reads a range of a block list about half as fast as
 * a blob put in one piece, which would otherwise tilt the comparison.
 */
export const UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024;

/**
 * Writes a zip straight into a package blob: yazl's output is piped into a block upload, so a
 * 2 GB package never exists in memory.
 */
export async function uploadZip(
  clients: StorageClients,
  feed: string,
  name: string,
  write: ZipWriter,
): Promise<number> {
  const zip = new yazl.ZipFile();
  write(zip);
  zip.end();
  const blob = clients.packagesContainer.getBlockBlobClient(`${feed}/${name}`);
  await blob.uploadStream(zip.outputStream as Readable, UPLOAD_BLOCK_BYTES, 4);
  const properties = await blob.getProperties();
  return properties.contentLength ?? 0;
}

/** Waits until the indexer has finished with the current content of a package blob. */
export async function waitIndexed(
  clients: StorageClients,
  feed: string,
  name: string,
  timeoutMs: number,
): Promise<StatusDocument> {
  const uid = packageUidFor(feed, name);
  const blob = await clients.packagesContainer.getBlobClient(`${feed}/${name}`).getProperties();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The indexer rewrites the document as it goes; a read that races a write is just retried.
    const doc = await readStatusDocument(clients.statusContainer, feed, uid).catch(() => undefined);
    if (doc && INDEXED_STATES.has(doc.state) && doc.blobEtag === blob.etag) return doc;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`package ${feed}/${name} was not indexed within ${timeoutMs / 1000} s`);
}

/**
 * Bytes that deflate to about half their size, as symbol files do: one of 16 letters per byte
 * from a seeded xorshift, so inflating them is real work and every run sees the same bytes.
 */
export function sampleBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = 0x41 + (x & 0x0f);
  }
  return out;
}

/**
 * A stream of `size` bytes cut from a shared pool at shifting offsets: large packages are
 * generated at memory speed, and a prefix makes each entry's content unique.
 */
export function poolStream(pool: Buffer, size: number, prefix: string): Readable {
  const head = Buffer.from(prefix);
  const chunk = 1024 * 1024;
  let sent = 0;
  let offset = head.length * 7919;
  return Readable.from(
    (function* () {
      const first = head.subarray(0, Math.min(head.length, size));
      sent += first.length;
      yield first;
      while (sent < size) {
        const length = Math.min(chunk, size - sent, pool.length);
        offset = (offset + 104_729) % (pool.length - length + 1);
        sent += length;
        yield pool.subarray(offset, offset + length);
      }
    })(),
  );
}
