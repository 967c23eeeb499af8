import { AdminPorts } from '../shared/admin/adminApi';
import { NuGetPorts } from '../shared/nuget/api';
import { Runtime } from '../shared/runtime';
import { ServingPorts } from '../shared/serve/serveSymbol';

/** Each handler's ports, out of the process's runtime: a handler is given what it uses, no more. */

export function servingPorts({
  settings,
  storage,
  feeds,
  tokens,
  locations,
  hotFiles,
  upstreams,
  misses,
}: Runtime): ServingPorts {
  return { settings, storage, feeds, tokens, locations, hotFiles, upstreams, misses };
}

/** The NuGet and admin APIs use the same: both ask for deletes, and the admin API writes feeds. */
export function apiPorts({
  settings,
  storage,
  feeds,
  tokens,
  locations,
}: Runtime): NuGetPorts & AdminPorts {
  return {
    settings,
    storage,
    feeds,
    tokens,
    hidePackage: (feed, packageUid) => locations.hidePackage(feed, packageUid),
  };
}
