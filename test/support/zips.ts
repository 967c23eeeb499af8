import { Readable } from 'node:stream';
import yazl from 'yazl';

export interface ZipInput {
  name: string;
  data: Buffer | string;
  compress?: boolean;
  /** Written from a stream of unknown length, so yazl puts sizes and CRC in a data descriptor. */
  streamed?: boolean;
}

export interface ZipOptions {
  forceZip64?: boolean;
  comment?: string;
}

/** Builds a zip in memory with yazl, an independent writer. */
export function makeZip(entries: readonly ZipInput[], options: ZipOptions = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data;
    const entryOptions = {
      compress: entry.compress ?? true,
      forceZip64Format: options.forceZip64 ?? false,
    };
    if (entry.streamed) zip.addReadStream(Readable.from([data]), entry.name, entryOptions);
    else zip.addBuffer(data, entry.name, entryOptions);
  }
  zip.end({ forceZip64Format: options.forceZip64 ?? false, comment: options.comment ?? '' });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export function symbolIndex(mappings: readonly { clientKey: string; blobPath: string }[]): string {
  return JSON.stringify(mappings);
}

/**
 * Renames entries in finished zip bytes, in local and central headers alike. yazl refuses names
 * like "../x" (rightly, for a writer); hostile packages have them, so tests write a placeholder
 * of the same length and patch it.
 */
export function renameEntries(bytes: Buffer, renames: Record<string, string>): Buffer {
  const out = Buffer.from(bytes);
  for (const [from, to] of Object.entries(renames)) {
    const a = Buffer.from(from);
    const b = Buffer.from(to);
    if (a.length !== b.length) throw new Error(`"${from}" and "${to}" differ in length`);
    for (let at = out.indexOf(a); at >= 0; at = out.indexOf(a, at + 1)) b.copy(out, at);
  }
  return out;
}

/**
 * Rewrites what the local and central headers of entry `name` declare, as a hostile package lies:
 * its method, its size, or how many bytes its data takes.
 */
export function patchEntryHeaders(
  bytes: Buffer,
  name: string,
  fields: { method?: number; size?: number; compressedSize?: number },
): Buffer {
  const out = Buffer.from(bytes);
  const nameBytes = Buffer.from(name);
  // Offsets of method, compressed size and size in each header, from its signature.
  const layouts = [
    { signature: 0x04034b50, fixed: 30, method: 8, compressedSize: 18, size: 22 },
    { signature: 0x02014b50, fixed: 46, method: 10, compressedSize: 20, size: 24 },
  ];
  let patched = 0;
  for (let at = out.indexOf(nameBytes); at >= 0; at = out.indexOf(nameBytes, at + 1)) {
    for (const layout of layouts) {
      const header = at - layout.fixed;
      if (header < 0 || out.readUInt32LE(header) !== layout.signature) continue;
      if (fields.method !== undefined) out.writeUInt16LE(fields.method, header + layout.method);
      if (fields.compressedSize !== undefined) {
        out.writeUInt32LE(fields.compressedSize, header + layout.compressedSize);
      }
      if (fields.size !== undefined) out.writeUInt32LE(fields.size, header + layout.size);
      patched += 1;
    }
  }
  if (patched !== 2) throw new Error(`found ${patched} headers of "${name}", not 2`);
  return out;
}

/**
 * A package with a small file (`small/1/small`, deflated: served from memory once read) and a
 * large one (`large/1/large`, stored: it streams, and honours a range).
 */
export function smallAndLarge(small: Buffer, large: Buffer): Promise<Buffer> {
  return makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex([
        { clientKey: 'small/1/small', blobPath: 'small.txt' },
        { clientKey: 'large/1/large', blobPath: 'large.bin' },
      ]),
    },
    { name: 'small.txt', data: small },
    { name: 'large.bin', data: large, compress: false },
  ]);
}
