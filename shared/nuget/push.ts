import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlockBlobClient } from '@azure/storage-blob';
import busboy from 'busboy';
import { identityFromNuspec } from '../packages/packageIdentity';
import { StorageClients } from '../storage/clients';
import { ChunkedReader, RangeReadError, RangeSource } from '../zip/chunkedReader';
import { DamagedZipError, entryProblem, PackageZip, ZipLimits } from '../zip/packageZip';
import { packageUidFor } from '../packages/packageUid';
import { percentEncoded, StagedBlocks } from '../storage/stagedBlocks';
import { packageHasher, SHA512_METADATA } from '../catalog/packageHash';
import { uploadVersion } from '../listings/packageView';
import { isNuGetId, isNuGetVersion } from './nugetVersion';

/**
 * What a push keeps of the package to check it before committing: the start (where packers put
 * the .nuspec) and the end (the central directory). A package whose .nuspec or directory lies
 * outside these is not judged at push time; the indexer judges every package anyway.
 */
const HEAD_BYTES = 1024 ** 2;
const TAIL_BYTES = 4 * 1024 ** 2;
const CHECK_CHUNK_BYTES = 64 * 1024;
const MAX_NUSPEC_BYTES = 1024 * 1024;

export type PushOutcome =
  | {
      readonly ok: true;
      /** The blob, `{feed}/{name}`, the indexer will pick up. */
      readonly blob: string;
      /** What the package says it is, when the push could read it. */
      readonly id?: string;
      readonly version?: string;
      /** The version the upload will list under, once indexed. */
      readonly listedVersion?: string;
    }
  | { readonly ok: false; readonly status: 400 | 413; readonly message: string };

export interface PushRequest {
  readonly feed: string;
  /** Recorded as the blob's `owner` metadata; the indexer copies it into the package row. */
  readonly owner: string;
  /** Pushed to the SymbolPackagePublish endpoint: stored as a .snupkg. */
  readonly symbols: boolean;
  readonly contentType: string | null;
  readonly body: Readable;
  readonly maxBytes: number;
  readonly zipLimits: ZipLimits;
}

class PushRefused extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

class OutsideWindow extends Error {}

/** The first and last bytes of a stream, kept while it passes. */
class Window {
  private head = Buffer.alloc(0);
  private tail: Buffer[] = [];
  private tailBytes = 0;
  size = 0;

  add(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.head.length < HEAD_BYTES) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0]?.length ?? 0) >= TAIL_BYTES) {
      this.tailBytes -= this.tail.shift()?.length ?? 0;
    }
  }

  /** Ranged reads of the kept bytes for the zip reader; anything else is OutsideWindow. */
  source(): RangeSource {
    const tail = Buffer.concat(this.tail).subarray(-TAIL_BYTES);
    const tailStart = this.size - tail.length;
    return {
      stream: async (start, end) => {
        const parts: Buffer[] = [];
        let at = start;
        if (at < this.head.length) {
          parts.push(this.head.subarray(at, Math.min(end, this.head.length)));
          at = Math.min(end, this.head.length);
        }
        if (at < end) {
          if (at < tailStart) throw new OutsideWindow();
          parts.push(tail.subarray(at - tailStart, end - tailStart));
        }
        return Readable.from([Buffer.concat(parts)]);
      },
    };
  }
}

type Judgement =
  | { kind: 'nupkg'; id: string; version: string }
  | { kind: 'refused'; message: string }
  /** Not a zip, or not readable from the window: accepted, and the indexer decides. */
  | { kind: 'unjudged' };

/**
 * Refuses at push time only what is a zip yet clearly no NuGet package (no root .nuspec naming a
 * valid id and version): NuGet clients print the reason, where a package landing damaged would go
 * unnoticed. Anything that is not a zip at all is accepted and lands in the damaged subfeed, as
 * SymbolSource did, so the publisher can see what was uploaded.
 */
async function judge(window: Window, limits: ZipLimits): Promise<Judgement> {
  const reader = new ChunkedReader(window.source(), window.size, CHECK_CHUNK_BYTES);
  let zip: PackageZip;
  try {
    zip = await PackageZip.open(reader, window.size, limits);
  } catch (error) {
    if (error instanceof DamagedZipError || error instanceof RangeReadError) {
      return { kind: 'unjudged' };
    }
    throw error;
  }
  try {
    const nuspec = zip.entries.find((entry) => /^[^/]+\.nuspec$/i.test(entry.name));
    if (!nuspec) {
      return {
        kind: 'refused',
        message:
          'The package has no .nuspec at its root: a NuGet package names itself there (id and version).',
      };
    }
    if (entryProblem(nuspec, limits)) return { kind: 'unjudged' };
    let xml: string;
    try {
      xml = (await zip.readSmallEntry(nuspec, MAX_NUSPEC_BYTES)).toString('utf8');
    } catch {
      return { kind: 'unjudged' };
    }
    const identity = identityFromNuspec(xml);
    if (!identity) {
      return {
        kind: 'refused',
        message: `The package's ${nuspec.name} is not a .nuspec stating an id and a version.`,
      };
    }
    if (!isNuGetId(identity.id)) {
      return {
        kind: 'refused',
        message: `The package id "${identity.id}" in ${nuspec.name} is not a valid NuGet id.`,
      };
    }
    if (!isNuGetVersion(identity.version)) {
      return {
        kind: 'refused',
        message: `The version "${identity.version}" in ${nuspec.name} is not a valid NuGet version.`,
      };
    }
    return { kind: 'nupkg', ...identity };
  } finally {
    zip.close();
  }
}

interface Received {
  /** The file name the multipart part gave, if any. */
  readonly filename: string | undefined;
  readonly blocks: StagedBlocks;
  readonly window: Window;
  /** The package's SHA-512, base64, for the catalog. */
  readonly sha512: string;
}

/**
 * Streams the one file of a multipart body into staged blocks of the blob `blobFor` names for its
 * extension. Nothing is committed here: a body that ends early, breaks off or runs over the limit
 * leaves only uncommitted blocks, which no reader sees and Azure discards after a week.
 */
async function receive(
  request: PushRequest,
  blobFor: (extension: '.nupkg' | '.snupkg') => BlockBlobClient,
): Promise<Received> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': request.contentType ?? '' },
      limits: { files: 1, fileSize: request.maxBytes, fields: 16 },
    });
  } catch {
    throw new PushRefused(
      400,
      'A push is a multipart/form-data body with the package as its one file.',
    );
  }
  let received: Promise<Received> | undefined;
  let overLimit = false;
  let extraFiles = false;
  let storageFailure: unknown;
  parser.on('filesLimit', () => {
    extraFiles = true;
  });
  parser.on('file', (_field, file, info) => {
    // NuGet clients call every part "package.nupkg"; the endpoint tells symbol packages apart.
    const blob = blobFor(
      request.symbols || /\.snupkg$/i.test(info.filename ?? '') ? '.snupkg' : '.nupkg',
    );
    file.on('limit', () => {
      overLimit = true;
      // Nothing more is worth reading: the push is refused whatever follows.
      request.body.destroy();
    });
    received = (async () => {
      const window = new Window();
      const hash = packageHasher();
      const blocks = new StagedBlocks(blob);
      for await (const chunk of file) {
        const bytes = chunk as Buffer;
        window.add(bytes);
        hash.update(bytes);
        try {
          await blocks.add(bytes);
        } catch (error) {
          // A file stream nobody reads stalls the parser; ending the body ends the push.
          storageFailure ??= error;
          request.body.destroy();
          throw error;
        }
      }
      const sha512 = hash.digest('base64');
      return { filename: info.filename || undefined, blocks, window, sha512 };
    })();
    // Awaited below; a rejection before then must not count as unhandled.
    received.catch(() => undefined);
  });
  try {
    await pipeline(request.body, parser);
  } catch (error) {
    if (storageFailure) throw storageFailure;
    if (overLimit) throw tooLarge(request.maxBytes);
    // busboy says "Unexpected end of form" for a body cut off before its closing boundary.
    throw new PushRefused(
      400,
      `The upload did not arrive whole (${(error as Error).message}); nothing was stored.`,
    );
  }
  if (overLimit) throw tooLarge(request.maxBytes);
  if (extraFiles) throw new PushRefused(400, 'A push carries one package; this one had several.');
  if (!received) throw new PushRefused(400, 'The push carried no package file.');
  return received;
}

function tooLarge(maxBytes: number): PushRefused {
  return new PushRefused(
    413,
    `The package is larger than this server's limit of ${maxBytes} bytes.`,
  );
}

/**
 * Receives one pushed package into `packages/{feed}/<unique name>`: every upload is a package of
 * its own, committed only once it arrived whole and looks like a package, then indexed by the
 * blob trigger like any other blob.
 */
export async function receivePush(
  storage: StorageClients,
  request: PushRequest,
): Promise<PushOutcome> {
  const stem = `${request.feed}/nuget-${randomUUID()}`;
  let received: Received;
  try {
    received = await receive(request, (extension) =>
      storage.packagesContainer.getBlockBlobClient(`${stem}${extension}`),
    );
  } catch (error) {
    if (error instanceof PushRefused) {
      return { ok: false, status: error.status, message: error.message };
    }
    throw error;
  }
  const { filename, blocks, window, sha512 } = received;
  const judgement = await judge(window, request.zipLimits);
  if (judgement.kind === 'refused') return { ok: false, status: 400, message: judgement.message };
  // Kept for the indexer, so that even a package it finds damaged lists as what was pushed.
  const pushed = {
    owner: request.owner,
    ...(filename === undefined ? {} : { pushedname: filename }),
    ...(judgement.kind === 'nupkg' ? { id: judgement.id, version: judgement.version } : {}),
  };
  const committed = await blocks.commit({
    metadata: { ...percentEncoded(pushed), [SHA512_METADATA]: sha512 },
    blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
  });
  const { blob } = blocks;
  const name = blob.name;
  if (judgement.kind !== 'nupkg') return { ok: true, blob: name };
  // The indexer lists the upload by its blob's creation time; reading it back gives the same.
  const properties = await blob.getProperties();
  const uploadedAt = (properties.createdOn ?? committed.lastModified ?? new Date()).toISOString();
  return {
    ok: true,
    blob: name,
    id: judgement.id,
    version: judgement.version,
    listedVersion: uploadVersion(
      judgement.version,
      uploadedAt,
      packageUidFor(request.feed, name.slice(request.feed.length + 1)),
    ),
  };
}
