/**
 * Whether an Accept-Encoding header (RFC 9110 §12.5.3) lets gzip be sent: gzip (or x-gzip) named
 * with a q-value above 0, or, when gzip is not named, `*` with one. A q-value that is not a
 * number from 0 to 1 makes its element refuse: a client that says something odd gets identity.
 */
export function acceptsGzip(header: string | null | undefined): boolean {
  if (!header) return false;
  let named: number | undefined;
  let star: number | undefined;
  for (const element of header.split(',')) {
    const [coding = '', ...parameters] = element.split(';').map((part) => part.trim());
    const name = coding.toLowerCase();
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const weight = qValue(parameters);
    if (name === '*') star = Math.max(star ?? 0, weight);
    else named = Math.max(named ?? 0, weight);
  }
  return (named ?? star ?? 0) > 0;
}

function qValue(parameters: readonly string[]): number {
  for (const parameter of parameters) {
    const match = /^q\s*=\s*(.*)$/i.exec(parameter);
    if (!match) continue;
    return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(match[1]!) ? Number(match[1]) : 0;
  }
  return 1;
}

/** The bytes a deflated entry gains as a gzip member: the 10-byte header and 8-byte trailer. */
export const GZIP_FRAME_BYTES = 18;

/**
 * RFC 1952's member header: deflate, no flags, no modification time, no extra flags, OS unknown.
 * Nothing in it depends on the entry, so the same bytes serve every one.
 */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

/** The member trailer: the CRC-32 of the uncompressed bytes and their count mod 2^32. */
export function gzipTrailer(crc32: number, size: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32 >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  return trailer;
}
