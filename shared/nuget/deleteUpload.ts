import { DeleteRequestDeps, requestDelete } from '../packages/deletePackage';
import { DELETING_STATES } from '../packages/states';
import { PackageView } from '../listings/packageView';
import { idUploads } from '../listings/readListings';
import { normalizeVersion } from './nugetVersion';
import { Subfeed } from './subfeed';

export type DeleteOutcome =
  | { readonly ok: true; readonly view: PackageView; readonly result: 'queued' | 'already' }
  | { readonly ok: false; readonly status: 404 | 409; readonly message: string };

/**
 * The upload a NuGet delete names. The listed version names one upload. The package's own
 * version (as in its .nuspec) names an upload too when exactly one upload of the id carries it
 * and is not already on its way out, so `nuget delete Foo 1.2.3` works for a version pushed once;
 * when several uploads carry it, the client is told their listed versions to choose from.
 */
export function deleteTarget(
  views: readonly PackageView[],
  id: string,
  version: string,
): { ok: true; view: PackageView } | (DeleteOutcome & { ok: false }) {
  const wanted = normalizeVersion(version);
  const ofId = views.filter((view) => view.id.toLowerCase() === id.toLowerCase());
  const listed = ofId.find((view) => normalizeVersion(view.version) === wanted);
  if (listed) return { ok: true, view: listed };
  const uploads = ofId.filter(
    (view) =>
      normalizeVersion(view.originalVersion) === wanted &&
      view.state !== 'deleted' &&
      !DELETING_STATES.has(view.state),
  );
  const [only, ...others] = uploads;
  if (only && others.length === 0) return { ok: true, view: only };
  if (only) {
    return {
      ok: false,
      status: 409,
      message: `${id} ${version} was pushed ${uploads.length} times; delete one upload by its listed version: ${uploads.map((view) => view.version).join(', ')}.`,
    };
  }
  return { ok: false, status: 404, message: `No package ${id} ${version} in this feed.` };
}

/**
 * Asks for the delete of the upload `id`/`version` names in a subfeed; the deleter does the work.
 * On the plain feed, a token with the delete scope reaches every upload not yet deleted, in any
 * state (a package still indexing or damaged must be deletable too); a state subfeed reaches the
 * uploads it lists, an `own` subfeed only the caller's.
 */
export async function deleteUpload(
  deps: DeleteRequestDeps,
  subfeed: Subfeed,
  owner: string | undefined,
  id: string,
  version: string,
): Promise<DeleteOutcome> {
  const scope: Subfeed = subfeed.plain ? { ...subfeed, state: 'original' } : subfeed;
  const target = deleteTarget(await idUploads(deps.storage, scope, owner, id), id, version);
  if (!target.ok) return target;
  const result = await requestDelete(deps, {
    feed: subfeed.feed,
    packageUid: target.view.uid,
    reason:
      `NuGet delete of ${target.view.id} ${target.view.version}${owner ? ` by ${owner}` : ''}`.slice(
        0,
        500,
      ),
  });
  return { ok: true, view: target.view, result };
}
