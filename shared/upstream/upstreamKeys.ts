import { Upstream } from '../feeds/feedTable';

/**
 * The debuginfod requests an SSQP key maps to (their paths under the server's URL), or none when
 * the key has no debuginfod form. Only the ELF conventions do: debuginfod indexes ELF build-ids,
 * and Mach-O UUIDs or PE/PDB signatures are not build-ids. The SSQP conventions pad build-ids
 * shorter than 20 bytes with zeros, which debuginfod does not: an id that ends in zero bytes is
 * asked as it is, then without them (down to 8 bytes), so that a 16-byte id (`--build-id=md5`)
 * is found too.
 */
export function debuginfodPaths(key: string): string[] {
  const debuginfo = /^_\.debug\/elf-buildid-sym-([0-9a-f]{40})\/_\.debug$/i.exec(key);
  const executable = /^([^/]+)\/elf-buildid-([0-9a-f]{40})\/([^/]+)$/i.exec(key);
  const [id, artifact] = debuginfo
    ? [debuginfo[1], 'debuginfo']
    : executable && executable[1]?.toLowerCase() === executable[3]?.toLowerCase()
      ? [executable[2], 'executable']
      : [undefined, undefined];
  if (id === undefined) return [];
  const padded = id.toLowerCase();
  const unpadded = padded.replace(/(?:00)+$/, '');
  const ids = unpadded !== padded && unpadded.length >= 16 ? [padded, unpadded] : [padded];
  return ids.map((one) => `buildid/${one}/${artifact}`);
}

/**
 * Where an upstream may have a key, in the order to ask: none when it cannot have it. SSQP: the
 * key appended to the URL as symsrv does, in the spelling the client sent (static SymSrv folders
 * on case-sensitive file systems keep the spelling of symstore). Each segment is percent-encoded;
 * keys with "." or ".." segments are never asked, since URL parsing would resolve them into
 * another path.
 */
export function upstreamUrls(
  upstream: Pick<Upstream, 'kind' | 'url'>,
  clientKey: string,
): string[] {
  const segments = clientKey.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) return [];
  const paths =
    upstream.kind === 'ssqp'
      ? [segments.map((segment) => encodeURIComponent(segment)).join('/')]
      : debuginfodPaths(clientKey);
  return paths.map((path) => `${upstream.url}/${path}`);
}
