import { parseSubfeed, Subfeed } from '../../shared/nuget/subfeed';
import { PackageRow } from '../../shared/packages/packageTable';
import { PackageState } from '../../shared/packages/states';

let uids = 0;

/** A package row with a fresh uid, uploaded a millisecond after the one made before it. */
export function packageRow(
  feed: string,
  id: string,
  version: string,
  state: PackageState = 'succeeded',
): PackageRow {
  const n = ++uids;
  return {
    feed,
    packageUid: n.toString(16).padStart(32, '0'),
    name: `${id}.${version}.nupkg`,
    id,
    version,
    owner: '',
    uploadedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
    blobEtag: `"e${n}"`,
    size: n,
    state,
    stateChangedAt: new Date().toISOString(),
    firstIndexedAt: n,
    keyCount: 0,
    errorCount: 0,
    warningCount: 0,
  };
}

export function subfeed(segment: string): Subfeed {
  const parsed = parseSubfeed(segment);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.subfeed;
}
