import { RetentionPolicy } from '../../shared/feeds/feedTable';
import { PackageRow } from '../../shared/packages/packageTable';
import { hasRetentionPolicy, planRetention } from '../../shared/packages/retention';
import { PackageState } from '../../shared/packages/states';

const NOW = new Date('2025-06-30T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;

/** A package uploaded `daysAgo` days before NOW; its uid is its name, so plans read easily. */
function pkg(
  name: string,
  id: string,
  version: string,
  daysAgo: number,
  extra: Partial<PackageRow> = {},
): PackageRow {
  const uploaded = NOW.getTime() - daysAgo * DAY;
  return {
    feed: 'f',
    packageUid: name,
    name: `${name}.nupkg`,
    id,
    version,
    owner: '',
    uploadedAt: new Date(uploaded).toISOString(),
    blobEtag: '"0x1"',
    size: 100,
    state: 'succeeded',
    stateChangedAt: new Date(uploaded).toISOString(),
    firstIndexedAt: uploaded + 500,
    keyCount: 1,
    errorCount: 0,
    warningCount: 0,
    ...extra,
  };
}

const plan = (packages: PackageRow[], policy: RetentionPolicy, now = NOW) =>
  planRetention(packages, policy, now).map((d) => [d.packageUid, d.reason]);

describe('an empty policy', () => {
  it('deletes nothing, however old or many the packages', () => {
    const packages = Array.from({ length: 50 }, (_, i) => pkg(`p${i}`, 'Foo', `1.0.${i}`, 1000));
    expect(plan(packages, {})).toEqual([]);
    expect(hasRetentionPolicy({})).toBe(false);
  });

  it('counts prereleaseOnly on its own as no policy: it only narrows the age rule', () => {
    const packages = [pkg('a', 'Foo', '1.0.0-beta', 1000)];
    expect(plan(packages, { prereleaseOnly: true })).toEqual([]);
    expect(hasRetentionPolicy({ prereleaseOnly: true })).toBe(false);
    expect(hasRetentionPolicy({ maxPackages: 1 })).toBe(true);
  });
});

describe('maxAgeDays', () => {
  it('deletes uploads older than D days and keeps the rest', () => {
    const packages = [pkg('old', 'Foo', '1.0.0', 31), pkg('new', 'Foo', '1.0.1', 29)];
    expect(plan(packages, { maxAgeDays: 30 })).toEqual([['old', 'older than 30 days']]);
  });

  it('keeps an upload exactly D days old and deletes one a millisecond older', () => {
    const exact = pkg('exact', 'Foo', '1.0.0', 30);
    const older = {
      ...pkg('older', 'Foo', '1.0.1', 30),
      uploadedAt: new Date(NOW.getTime() - 30 * DAY - 1).toISOString(),
    };
    expect(plan([exact, older], { maxAgeDays: 30 })).toEqual([['older', 'older than 30 days']]);
  });

  it('accepts fractional days and says "1 day" in the singular', () => {
    const packages = [pkg('a', 'Foo', '1.0.0', 0.75), pkg('b', 'Foo', '1.0.1', 1.5)];
    expect(plan(packages, { maxAgeDays: 0.5 })).toEqual([
      ['b', 'older than 0.5 days'],
      ['a', 'older than 0.5 days'],
    ]);
    expect(plan(packages, { maxAgeDays: 1 })).toEqual([['b', 'older than 1 day']]);
  });

  it('measures age from `now`, so a later run deletes what an earlier one kept', () => {
    const packages = [pkg('a', 'Foo', '1.0.0', 10)];
    expect(plan(packages, { maxAgeDays: 30 })).toEqual([]);
    expect(plan(packages, { maxAgeDays: 30 }, new Date(NOW.getTime() + 21 * DAY))).toEqual([
      ['a', 'older than 30 days'],
    ]);
  });

  it('with prereleaseOnly, deletes only old prereleases', () => {
    const packages = [
      pkg('stable-old', 'Foo', '1.0.0', 100),
      pkg('beta-old', 'Foo', '1.1.0-beta.1', 90),
      pkg('beta-new', 'Foo', '1.1.0-beta.2', 5),
    ];
    expect(plan(packages, { maxAgeDays: 30, prereleaseOnly: true })).toEqual([
      ['beta-old', 'older than 30 days (prerelease)'],
    ]);
    expect(plan(packages, { maxAgeDays: 30, prereleaseOnly: false })).toEqual([
      ['stable-old', 'older than 30 days'],
      ['beta-old', 'older than 30 days'],
    ]);
  });

  it('tells prereleases by a SemVer label, not by a dash in build metadata', () => {
    const versions = {
      'rc-label': '2.0.0-rc.1',
      'alpha-label': '1.0.0-alpha+build.5',
      'build-dash': '1.0.0+build-7',
      stable: '1.0.0',
      'four-part': '1.0.0.1',
      'no-version': '',
    };
    const packages = Object.entries(versions).map(([name, version]) =>
      pkg(name, name, version, 100),
    );
    expect(plan(packages, { maxAgeDays: 1, prereleaseOnly: true }).sort()).toEqual([
      ['alpha-label', 'older than 1 day (prerelease)'],
      ['rc-label', 'older than 1 day (prerelease)'],
    ]);
  });

  it('ages a row without uploadedAt by its first indexing', () => {
    const legacy = pkg('legacy', 'Foo', '1.0.0', 40, { uploadedAt: '' });
    expect(plan([legacy], { maxAgeDays: 30 })).toEqual([['legacy', 'older than 30 days']]);
    const recent = pkg('recent', 'Foo', '1.0.0', 10, { uploadedAt: '' });
    expect(plan([recent], { maxAgeDays: 30 })).toEqual([]);
  });
});

describe('keepLatestPerId', () => {
  it('keeps the newest N uploads of each id and deletes the older ones, oldest first', () => {
    const packages = [
      pkg('foo1', 'Foo', '1.0.1', 5),
      pkg('foo2', 'Foo', '1.0.2', 4),
      pkg('bar1', 'Bar', '2.0.0', 10),
      pkg('foo3', 'Foo', '1.0.3', 3),
      pkg('foo4', 'Foo', '1.0.4', 2),
    ];
    expect(plan(packages, { keepLatestPerId: 2 })).toEqual([
      ['foo1', 'beyond the newest 2 uploads of Foo'],
      ['foo2', 'beyond the newest 2 uploads of Foo'],
    ]);
    expect(plan(packages, { keepLatestPerId: 1 })).toEqual([
      ['foo1', 'beyond the newest upload of Foo'],
      ['foo2', 'beyond the newest upload of Foo'],
      ['foo3', 'beyond the newest upload of Foo'],
    ]);
    expect(plan(packages, { keepLatestPerId: 4 })).toEqual([]);
  });

  it('orders by upload time, not by version: a re-upload of an old version is the newest', () => {
    const packages = [pkg('v2', 'Foo', '2.0.0', 5), pkg('v1-again', 'Foo', '1.0.0', 1)];
    expect(plan(packages, { keepLatestPerId: 1 })).toEqual([
      ['v2', 'beyond the newest upload of Foo'],
    ]);
  });

  it('compares ids case-insensitively, as NuGet does, and names the id as the package spells it', () => {
    const packages = [pkg('a', 'foo', '1.0.0', 3), pkg('b', 'FOO', '1.0.1', 2)];
    expect(plan(packages, { keepLatestPerId: 1 })).toEqual([
      ['a', 'beyond the newest upload of foo'],
    ]);
  });

  it('counts the same id and version uploaded twice as two uploads', () => {
    const packages = [pkg('first', 'Foo', '1.0.0', 3), pkg('second', 'Foo', '1.0.0', 2)];
    expect(plan(packages, { keepLatestPerId: 1 })).toEqual([
      ['first', 'beyond the newest upload of Foo'],
    ]);
  });
});

describe('maxPackages', () => {
  it('keeps the newest M packages of the feed, whatever their ids', () => {
    const packages = [
      pkg('a', 'A', '1.0.0', 4),
      pkg('b', 'B', '1.0.0', 3),
      pkg('c', 'C', '1.0.0', 2),
      pkg('d', 'D', '1.0.0', 1),
    ];
    expect(plan(packages, { maxPackages: 2 })).toEqual([
      ['a', "beyond the feed's 2 newest packages"],
      ['b', "beyond the feed's 2 newest packages"],
    ]);
    expect(plan(packages, { maxPackages: 1 }).map(([, why]) => why)).toEqual([
      "beyond the feed's newest package",
      "beyond the feed's newest package",
      "beyond the feed's newest package",
    ]);
    expect(plan(packages, { maxPackages: 4 })).toEqual([]);
  });
});

describe('rules together', () => {
  it('deletes a package when any rule says so and names every rule that does', () => {
    const packages = [
      pkg('foo-old', 'Foo', '1.0.0', 60),
      pkg('foo-mid', 'Foo', '1.1.0', 20),
      pkg('foo-new', 'Foo', '1.2.0', 1),
      pkg('bar-old', 'Bar', '1.0.0', 45),
    ];
    expect(plan(packages, { maxAgeDays: 30, keepLatestPerId: 1 })).toEqual([
      ['foo-old', 'older than 30 days; beyond the newest upload of Foo'],
      ['bar-old', 'older than 30 days'],
      ['foo-mid', 'beyond the newest upload of Foo'],
    ]);
  });

  it('counts maxPackages among what the other rules keep, so no slot goes to a package deleted anyway', () => {
    // Feed, newest first: X3, X2, X1, Y1. keepLatestPerId 1 takes X2 and X1; of X3 and Y1 that
    // remain, both fit in 2, so Y1 stays although it is the oldest.
    const packages = [
      pkg('y1', 'Y', '1.0.0', 10),
      pkg('x1', 'X', '1.0.0', 3),
      pkg('x2', 'X', '1.0.1', 2),
      pkg('x3', 'X', '1.0.2', 1),
    ];
    expect(plan(packages, { keepLatestPerId: 1, maxPackages: 2 })).toEqual([
      ['x1', 'beyond the newest upload of X'],
      ['x2', 'beyond the newest upload of X'],
    ]);
    expect(plan(packages, { keepLatestPerId: 1, maxPackages: 1 })).toEqual([
      ['y1', "beyond the feed's newest package"],
      ['x1', 'beyond the newest upload of X'],
      ['x2', 'beyond the newest upload of X'],
    ]);
  });

  it('applies maxPackages after the age rule, even with prereleaseOnly', () => {
    const packages = [
      pkg('stable-old', 'S', '1.0.0', 100),
      pkg('beta-old', 'B', '1.0.0-beta', 90),
      pkg('stable-mid', 'S', '1.1.0', 50),
      pkg('beta-new', 'B', '1.0.0-rc', 1),
    ];
    expect(plan(packages, { maxAgeDays: 30, prereleaseOnly: true, maxPackages: 2 })).toEqual([
      ['stable-old', "beyond the feed's 2 newest packages"],
      ['beta-old', 'older than 30 days (prerelease)'],
    ]);
  });

  it('applies all three rules', () => {
    const packages = [
      pkg('a1', 'A', '1.0.0-pre', 40),
      pkg('a2', 'A', '1.0.0', 35),
      pkg('b1', 'B', '1.0.0', 30),
      pkg('a3', 'A', '1.1.0', 20),
      pkg('b2', 'B', '1.1.0', 10),
      pkg('a4', 'A', '1.2.0', 5),
      pkg('c1', 'C', '1.0.0', 1),
    ];
    expect(
      plan(packages, { maxAgeDays: 31, prereleaseOnly: true, keepLatestPerId: 2, maxPackages: 3 }),
    ).toEqual([
      ['a1', 'older than 31 days (prerelease); beyond the newest 2 uploads of A'],
      ['a2', 'beyond the newest 2 uploads of A'],
      ['b1', "beyond the feed's 3 newest packages"],
      ['a3', "beyond the feed's 3 newest packages"],
    ]);
  });
});

describe('which packages count', () => {
  const states: PackageState[] = [
    'new',
    'original',
    'damaged',
    'indexingqueued',
    'indexing',
    'succeeded',
    'partial',
  ];

  it('counts every package uploaded and not deleted, whatever its indexing came to', () => {
    const packages = states.map((state, i) => pkg(state, 'Foo', `1.0.${i}`, 100 - i, { state }));
    expect(plan(packages, { maxPackages: 1 }).map(([uid]) => uid)).toEqual(states.slice(0, -1));
  });

  it('ignores packages deleted or being deleted: they neither go again nor hold a slot', () => {
    const packages = [
      pkg('gone', 'Foo', '1.0.0', 100, { state: 'deleted' }),
      pkg('queued', 'Foo', '1.0.1', 90, { state: 'deletingqueued' }),
      pkg('deleting', 'Foo', '1.0.2', 80, { state: 'deleting' }),
      pkg('kept-older', 'Foo', '1.0.3', 70),
      pkg('kept-newer', 'Foo', '1.0.4', 60),
      pkg('newest-going', 'Foo', '1.0.5', 1, { state: 'deletingqueued' }),
    ];
    expect(plan(packages, { maxAgeDays: 10 })).toEqual([
      ['kept-older', 'older than 10 days'],
      ['kept-newer', 'older than 10 days'],
    ]);
    // With the newest upload already going, the two before it are the newest two.
    expect(plan(packages, { keepLatestPerId: 2 })).toEqual([]);
    expect(plan(packages, { maxPackages: 1 })).toEqual([
      ['kept-older', "beyond the feed's newest package"],
    ]);
  });
});

describe('order of uploads', () => {
  it('breaks a tie in upload time by first indexing, then by uid', () => {
    const at = new Date(NOW.getTime() - DAY).toISOString();
    const packages = [
      pkg('b-indexed-first', 'Foo', '1', 1, { uploadedAt: at, firstIndexedAt: 1_000 }),
      pkg('a-indexed-later', 'Foo', '2', 1, { uploadedAt: at, firstIndexedAt: 2_000 }),
      pkg('uid-b', 'Foo', '3', 1, { uploadedAt: at, firstIndexedAt: 3_000 }),
      pkg('uid-c', 'Foo', '4', 1, { uploadedAt: at, firstIndexedAt: 3_000 }),
    ];
    expect(plan(packages, { keepLatestPerId: 1 }).map(([uid]) => uid)).toEqual([
      'b-indexed-first',
      'a-indexed-later',
      'uid-b',
    ]);
  });

  it('decides the same whatever order the rows come in', () => {
    const packages = Array.from({ length: 20 }, (_, i) =>
      pkg(`p${String(i).padStart(2, '0')}`, `Id${i % 3}`, `1.0.${i}`, i % 7, {
        firstIndexedAt: i % 2,
      }),
    );
    const policy = { keepLatestPerId: 3, maxPackages: 5 };
    const expected = planRetention(packages, policy, NOW);
    expect(expected.length).toBeGreaterThan(0);
    for (let shift = 1; shift < packages.length; shift += 3) {
      const rotated = [...packages.slice(shift), ...packages.slice(0, shift)];
      expect(planRetention(rotated, policy, NOW)).toEqual(expected);
      expect(planRetention([...rotated].reverse(), policy, NOW)).toEqual(expected);
    }
  });

  it('returns what the integration and CLI print: uid, name, id, version and reason', () => {
    const [decision] = planRetention(
      [pkg('old', 'Foo', '1.0.0-beta', 40), pkg('new', 'Foo', '1.0.0', 1)],
      { maxAgeDays: 30 },
      NOW,
    );
    expect(decision).toEqual({
      packageUid: 'old',
      name: 'old.nupkg',
      id: 'Foo',
      version: '1.0.0-beta',
      reason: 'older than 30 days',
    });
  });

  it('does not change the rows it is given', () => {
    const packages = [pkg('b', 'Foo', '2', 1), pkg('a', 'Foo', '1', 2)];
    const copy = structuredClone(packages);
    planRetention(packages, { keepLatestPerId: 1 }, NOW);
    expect(packages).toEqual(copy);
  });
});
