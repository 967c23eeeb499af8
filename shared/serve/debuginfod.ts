import { EntryLocation } from '../index/location';

/**
 * Maps a debuginfod request (`/buildid/<hex>/debuginfo`) onto the SSQP key of an ELF symbol file.
 * Only `debuginfo` can be answered: an executable's SSQP key carries its file name, which a
 * debuginfod request does not, and sources are keyed by hash, not by build-id and path.
 */
export function debuginfodKey(
  buildId: string,
  artifact: string,
): { ok: true; key: string } | { ok: false; reason: string } {
  if (artifact !== 'debuginfo') {
    return { ok: false, reason: `symfeed serves only debuginfo by build-id, not "${artifact}"` };
  }
  // The SSQP conventions pad build-ids of 8 to 20 bytes with zeros to 20.
  if (!/^(?:[0-9a-fA-F]{2}){8,20}$/.test(buildId)) {
    return { ok: false, reason: 'a build-id is 8 to 20 bytes of hex' };
  }
  const id = buildId.toLowerCase().padEnd(40, '0');
  return { ok: true, key: `_.debug/elf-buildid-sym-${id}/_.debug` };
}

/**
 * The headers debuginfod(8) adds to a file it found in an archive: the file's size (before any
 * Content-Encoding, which debuginfod clients show progress against), its name inside the archive,
 * and the archive. Names are percent-encoded where they would not be plain ASCII.
 */
export function debuginfodHeaders(
  location: Pick<EntryLocation, 'size' | 'entry' | 'blob'>,
): Record<string, string> {
  return {
    'X-DEBUGINFOD-SIZE': String(location.size),
    'X-DEBUGINFOD-FILE': encodeURI(location.entry),
    'X-DEBUGINFOD-ARCHIVE': encodeURI(location.blob),
  };
}
