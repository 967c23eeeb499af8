import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { StatusDocument } from '../../shared/packages/statusDocument';
import { ELF_FIXTURES } from '../support/paths';
import {
  BenchStorage,
  sampleBytes,
  UPLOAD_BLOCK_BYTES,
  uploadZip,
  waitIndexed,
} from '../support/storage';

export const FEED = 'default';
/** A private feed holding the serve package's 4 KB stored entry under the same key. */
export const PRIVATE_FEED = 'benchprivate';
const RAW_CONTAINER = 'benchraw';

/** One entry served in the serve scenarios, and the same bytes as a plain blob. */
export interface ServeEntry {
  readonly id: string;
  readonly size: number;
  readonly compress: boolean;
  /** Request path on symfeed. */
  readonly path: string;
  /** URL of the plain blob holding the same (uncompressed) bytes. */
  readonly rawUrl: string;
}

export interface DebugFile {
  readonly file: string;
  /** The build-id as the ELF note holds it, the form debuginfod clients ask for. */
  readonly buildId: string;
  readonly bytes: Buffer;
}

export interface Fixtures {
  readonly small: readonly ServeEntry[];
  readonly big: readonly ServeEntry[];
  readonly missPath: string;
  readonly debugFiles: readonly DebugFile[];
  readonly servePackage: StatusDocument;
  /** The 4 KB stored entry in PRIVATE_FEED, and a read token of that feed. */
  readonly privateSmall: { readonly path: string; readonly token: string };
}

const KB = 1024;
const MB = 1024 * KB;

const SMALL = [
  { id: '4k-stored', size: 4 * KB, compress: false },
  { id: '4k-deflated', size: 4 * KB, compress: true },
  { id: '1m-stored', size: MB, compress: false },
  { id: '1m-deflated', size: MB, compress: true },
];
const BIG = [
  { id: '100m-stored', size: 100 * MB, compress: false },
  { id: '100m-deflated', size: 100 * MB, compress: true },
];

const clientKey = (id: string) => `bench-${id}.bin/00000000bench/bench-${id}.bin`;

/** The ELF debug files of the fixtures with distinct build-ids (the .zdebug twin shares one). */
export function debugFiles(): DebugFile[] {
  return ['hello.debug', 'libgreet.so.debug', 'hello-ppc64.debug'].map((file) => {
    const readelf = readFileSync(path.join(ELF_FIXTURES, `${file}.readelf.txt`), 'utf8');
    const buildId = /Build ID: ([0-9a-f]+)/.exec(readelf)?.[1];
    if (!buildId) throw new Error(`no build-id in ${file}.readelf.txt`);
    return { file, buildId, bytes: readFileSync(path.join(ELF_FIXTURES, file)) };
  });
}

/**
 * Publishes what the serve, raw and debuginfod scenarios read: one package with 4 KB, 1 MB and
 * 100 MB entries, stored and deflated, mapped by symbol_index.json; a package of ELF debug files
 * under their .build-id paths; every served byte again as a plain, publicly readable blob; and the
 * 4 KB stored entry in a private feed, with a read token. Stored and deflated entries of one size
 * hold the same bytes, so one raw blob serves both.
 */
export async function publishFixtures(
  storage: BenchStorage,
  log: (line: string) => void,
): Promise<Fixtures> {
  const { clients } = storage;
  const raw = clients.blobs.getContainerClient(RAW_CONTAINER);
  await raw.createIfNotExists({ access: 'blob' });
  const contents = new Map<number, Buffer>();
  const bytesOf = (size: number) => {
    let bytes = contents.get(size);
    if (!bytes) contents.set(size, (bytes = sampleBytes(size, size)));
    return bytes;
  };
  const entry = (spec: (typeof SMALL)[number]): ServeEntry => ({
    ...spec,
    path: `/F/${FEED}/symbols/${clientKey(spec.id)}`,
    rawUrl: raw.getBlockBlobClient(`${spec.size}.bin`).url,
  });
  for (const size of new Set([...SMALL, ...BIG].map((spec) => spec.size))) {
    await raw
      .getBlockBlobClient(`${size}.bin`)
      .uploadStream(Readable.from([bytesOf(size)]), UPLOAD_BLOCK_BYTES, 4);
  }
  log('publishing the serve package (4 KB, 1 MB and 100 MB entries)');
  const all = [...SMALL, ...BIG];
  await uploadZip(clients, FEED, 'serve.zip', (zip) => {
    const index = all.map((spec) => ({
      clientKey: clientKey(spec.id),
      blobPath: `lib/${spec.id}.bin`,
    }));
    zip.addBuffer(Buffer.from(JSON.stringify(index)), 'symbol_index.json');
    for (const spec of all)
      zip.addBuffer(bytesOf(spec.size), `lib/${spec.id}.bin`, { compress: spec.compress });
  });
  const files = debugFiles();
  await uploadZip(clients, FEED, 'debug.zip', (zip) => {
    for (const file of files) {
      const at = `usr/lib/debug/.build-id/${file.buildId.slice(0, 2)}/${file.buildId.slice(2)}.debug`;
      zip.addBuffer(file.bytes, at);
    }
  });
  const privateSpec = SMALL[0] as (typeof SMALL)[number];
  await ensureFeed(clients.feedsTable, { name: PRIVATE_FEED, visibility: 'private' });
  await uploadZip(clients, PRIVATE_FEED, 'serve.zip', (zip) => {
    const index = [{ clientKey: clientKey(privateSpec.id), blobPath: `lib/${privateSpec.id}.bin` }];
    zip.addBuffer(Buffer.from(JSON.stringify(index)), 'symbol_index.json');
    zip.addBuffer(bytesOf(privateSpec.size), `lib/${privateSpec.id}.bin`, { compress: false });
  });
  const { token } = await createToken(clients.tokensTable, {
    feed: PRIVATE_FEED,
    scopes: ['read'],
    label: 'bench',
  });
  const servePackage = await waitIndexed(clients, FEED, 'serve.zip', 120_000);
  const debugPackage = await waitIndexed(clients, FEED, 'debug.zip', 60_000);
  const privatePackage = await waitIndexed(clients, PRIVATE_FEED, 'serve.zip', 60_000);
  for (const doc of [servePackage, debugPackage, privatePackage]) {
    if (doc.state !== 'succeeded')
      throw new Error(`${doc.name} is ${doc.state}: ${doc.errors.join('; ')}`);
  }
  return {
    small: SMALL.map(entry),
    big: BIG.map(entry),
    missPath: `/F/${FEED}/symbols/bench-miss.bin/00000000miss/bench-miss.bin`,
    debugFiles: files,
    servePackage,
    privateSmall: { path: `/F/${PRIVATE_FEED}/symbols/${clientKey(privateSpec.id)}`, token },
  };
}
