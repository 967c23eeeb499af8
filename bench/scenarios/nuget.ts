import { TableClient, TransactionAction } from '@azure/data-tables';
import { performance } from 'node:perf_hooks';
import { ensureFeed } from '../../shared/feeds/feedTable';
import { rebuildListings } from '../../shared/listings/materialise';
import { PackageRow } from '../../shared/packages/packageTable';
import { mapLimit } from '../../shared/util/mapLimit';
import { load } from '../support/load';
import { ratio } from '../support/stats';
import { BenchStorage } from '../support/storage';

const NUGET_FEED = 'nuget';

/** Uploads of each id but the big one: 100,000 packages are then some 9,400 ids. */
const VERSIONS_PER_ID = 10;
/** Ids present at both sizes: the registrations measured. */
const SMALL_IDS = 100;
/** The id with thousands of uploads the seed names (one of the large feed's packages). */
const BIG_ID = 'Bench.Big';

/** v3 search's first page, as NuGet clients ask it, and NuGet 2.x's `list -Prerelease`. */
const LIST_PATHS = [
  `/F/${NUGET_FEED}/api/v3/query?q=&skip=0&take=20&prerelease=true&semVerLevel=2.0.0`,
  `/F/${NUGET_FEED}/api/v2/Search()?$filter=IsAbsoluteLatestVersion&$orderby=Id&$skip=0&$top=30&searchTerm=''&targetFramework=''&includePrerelease=true`,
];

export interface NuGetSize {
  readonly packages: number;
  readonly listP99Ms: number;
  readonly registrationP99Ms: number;
}

export interface NuGetResult {
  readonly small: NuGetSize;
  readonly large: NuGetSize;
  /** The registration index of the id with `bigIdVersions` uploads, in the large feed. */
  readonly bigRegistrationP99Ms: number;
  readonly listP99Ratio: number | null;
  readonly registrationP99Ratio: number | null;
  readonly seedSeconds: number;
}

const idOf = (n: number) => `Bench.Pkg${String(n).padStart(6, '0')}`;
const registrationPath = (n: number) =>
  `/F/${NUGET_FEED}/api/v3/registration/${idOf(n).toLowerCase()}/index.json`;

function packageRow(index: number, id: string, version: string): PackageRow {
  const uid = (0x10000000 + index).toString(16).padStart(32, '0');
  return {
    feed: NUGET_FEED,
    packageUid: uid,
    name: `${id}.${version}.nupkg`,
    id,
    version,
    owner: '',
    uploadedAt: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    blobEtag: `"0x${index.toString(16)}"`,
    size: 1000,
    state: 'succeeded',
    stateChangedAt: new Date(Date.UTC(2026, 0, 2)).toISOString(),
    firstIndexedAt: index,
    keyCount: 1,
    errorCount: 0,
    warningCount: 0,
  };
}

/**
 * The feed's packages [from, to): the uploads of the small ids first, then `bigIdVersions` uploads
 * of one id, then the uploads of further ids.
 */
function rows(from: number, to: number, bigIdVersions: number): PackageRow[] {
  const small = SMALL_IDS * VERSIONS_PER_ID;
  const ofId = (n: number, k: number, first: number) =>
    packageRow(n, idOf(first + Math.floor(k / VERSIONS_PER_ID)), `1.0.${k % VERSIONS_PER_ID}`);
  return Array.from({ length: to - from }, (_, i) => {
    const n = from + i;
    if (n < small) return ofId(n, n, 0);
    if (n < small + bigIdVersions) return packageRow(n, BIG_ID, `1.${n - small}.0`);
    return ofId(n, n - small - bigIdVersions, SMALL_IDS);
  });
}

/** Package rows go in as table transactions of 100 (one partition), as a bulk import would. */
async function seedRows(table: TableClient, seeded: readonly PackageRow[]): Promise<void> {
  const batches: PackageRow[][] = [];
  for (let at = 0; at < seeded.length; at += 100) batches.push(seeded.slice(at, at + 100));
  // Azurite runs one transaction at a time: more in flight only queue past the write timeout.
  await mapLimit(batches, 2, async (batch) => {
    const actions: TransactionAction[] = batch.map(({ feed, packageUid, ...rest }) => [
      'upsert',
      { partitionKey: feed, rowKey: packageUid, ...rest },
      'Replace',
    ]);
    await table.submitTransaction(actions);
  });
}

/**
 * NuGet listings in a feed of `smallPackages` and then of `largePackages` (the same feed, grown,
 * with one id of `bigIdVersions` uploads): p99 of the first page of v3 search and of NuGet 2.x's
 * v2 list, and of the registration index of one of the feed's ids. The package rows are written
 * straight into the table (unless `tableRows` is false), and the listings built from them by
 * rebuildListings, as `symfeed listings rebuild` does.
 */
export async function nugetScenario(
  storage: BenchStorage,
  url: string,
  plan: {
    smallPackages: number;
    largePackages: number;
    bigIdVersions: number;
    seconds: number;
    /**
     * Whether the package rows go into the table too. The listings measured never read them,
     * and Azurite checks each row of a transaction against every row of its partition, so
     * 100,000 rows take hours to write there (19,000 took 535 s).
     */
    tableRows: boolean;
  },
  log: (line: string) => void,
): Promise<NuGetResult> {
  await ensureFeed(storage.clients.feedsTable, { name: NUGET_FEED, visibility: 'public' });
  const ports = {
    container: storage.clients.listingsContainer,
    memory: storage.clients.listingsMemory,
  };
  let seedMs = 0;
  const seed = async (from: number, to: number) => {
    const started = performance.now();
    if (plan.tableRows) {
      await seedRows(storage.clients.packagesTable, rows(from, to, plan.bigIdVersions));
    }
    await rebuildListings(ports, NUGET_FEED, rows(0, to, plan.bigIdVersions));
    seedMs += performance.now() - started;
    log(`nuget: ${to} packages seeded (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  };
  const measure = async (packages: number): Promise<NuGetSize> => {
    for (const path of [...LIST_PATHS, registrationPath(0)]) {
      const probe = await fetch(`${url}${path}`);
      const body = await probe.text();
      if (probe.status !== 200 || !body.includes(idOf(0))) {
        throw new Error(`nuget: ${path} gave ${probe.status} without ${idOf(0)}`);
      }
    }
    // Every document measured is read once first, at both sizes, so that p99 is of serving them
    // and not of their first reads: on Azurite a blob GET grows dearer with the container's blob
    // count (2.6 times with 10,000 listing blobs as with 100, measured by hand), on Azure it does not.
    const registrations = Array.from({ length: SMALL_IDS }, (_, n) => registrationPath(n));
    await mapLimit([...LIST_PATHS, ...registrations], 16, async (path) => {
      await (await fetch(`${url}${path}`)).arrayBuffer();
    });
    const list = await load({ url, connections: 16, seconds: plan.seconds, paths: LIST_PATHS });
    const registration = await load({
      url,
      connections: 16,
      seconds: plan.seconds,
      pickPath: () => registrationPath(Math.floor(Math.random() * SMALL_IDS)),
    });
    for (const [what, result] of [
      ['list', list],
      ['registration', registration],
    ] as const) {
      if (result.failures) throw new Error(`nuget ${what}: ${result.failures} failed requests`);
    }
    log(
      `nuget ${packages} packages: list p99 ${list.latencyP99Ms.toFixed(2)} ms, registration p99 ${registration.latencyP99Ms.toFixed(2)} ms`,
    );
    return {
      packages,
      listP99Ms: list.latencyP99Ms,
      registrationP99Ms: registration.latencyP99Ms,
    };
  };

  await seed(0, plan.smallPackages);
  const small = await measure(plan.smallPackages);
  await seed(plan.smallPackages, plan.largePackages);
  const large = await measure(plan.largePackages);
  const big = await load({
    url,
    connections: 4,
    seconds: plan.seconds,
    paths: [`/F/${NUGET_FEED}/api/v3/registration/${BIG_ID.toLowerCase()}/index.json`],
  });
  log(
    `nuget ${BIG_ID} (${plan.bigIdVersions} uploads): registration p99 ${big.latencyP99Ms.toFixed(2)} ms`,
  );
  return {
    small,
    large,
    bigRegistrationP99Ms: big.latencyP99Ms,
    listP99Ratio: ratio(large.listP99Ms, small.listP99Ms),
    registrationP99Ratio: ratio(large.registrationP99Ms, small.registrationP99Ms),
    seedSeconds: seedMs / 1000,
  };
}
