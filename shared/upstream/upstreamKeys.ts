import { Upstream } from '../feeds/feedTable';

/**
 * The debuginfod request an SSQP key maps to (its path under the server's URL), or undefined when
 * the key has no debuginfod form. Only the ELF conventions do: debuginfod indexes ELF build-ids,
 * and Mach-O UUIDs or PE/PDB signatures are not build-ids. The SSQP conventions pad shorter
 * build-ids with zeros to 20 bytes; such a key is asked as is, which a debuginfod server indexing
 * the unpadded id does not know.
 */
export function debuginfodPath(key: string): string | undefined {
  const debuginfo = /^_\.debug\/elf-buildid-sym-([0-9a-f]{40})\/_\.debug$/i.exec(key);
  if (debuginfo) return `buildid/${debuginfo[1]?.toLowerCase()}/debuginfo`;
  const executable = /^([^/]+)\/elf-buildid-([0-9a-f]{40})\/([^/]+)$/i.exec(key);
  if (executable && executable[1]?.toLowerCase() === executable[3]?.toLowerCase()) {
    return `buildid/${executable[2]?.toLowerCase()}/executable`;
  }
  return undefined;
}

/**
 * Where an upstream has a key, or undefined when it cannot have it. SSQP: the key appended to the
 * URL as symsrv does, in the spelling the client sent (static SymSrv folders on case-sensitive
 * file systems keep the spelling of symstore). Each segment is percent-encoded; keys with "." or
 * ".." segments are never asked, since URL parsing would resolve them into another path.
 */
export function upstreamUrl(
  upstream: Pick<Upstream, 'kind' | 'url'>,
  clientKey: string,
): string | undefined {
  const segments = clientKey.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) return undefined;
  const path =
    upstream.kind === 'ssqp'
      ? segments.map((segment) => encodeURIComponent(segment)).join('/')
      : debuginfodPath(clientKey);
  return path === undefined ? undefined : `${upstream.url}/${path}`;
}
