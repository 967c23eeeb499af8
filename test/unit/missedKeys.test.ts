import { ContainerClient } from '@azure/storage-blob';
import {
  hourOf,
  isProbe,
  MAX_KEYS,
  mergeCounts,
  MissedKeys,
  mostMissed,
} from '../../shared/misses/missedKeys';

const KEY = 'app.pdb/497b72f6390a44fc878e5a2d63b6cc4b1/app.pdb';

/** What flush writes, by blob name: the aggregation is under test here, not storage. */
function capturing() {
  const written = new Map<string, unknown>();
  const container = {
    getBlockBlobClient: (name: string) => ({
      upload: async (body: string) => {
        written.set(name, JSON.parse(body));
      },
    }),
  } as unknown as ContainerClient;
  return { container, written };
}

describe('isProbe: the SymSrv probes, not counted', () => {
  it.each([
    ['app.pd_/497b72f6390a44fc878e5a2d63b6cc4b1/app.pd_', true],
    ['app.pdb/497b72f6390a44fc878e5a2d63b6cc4b1/file.ptr', true],
    ['index2.txt', true],
    [KEY, false],
    ['libc.so.6/elf-buildid-0a1b/libc.so.6', false],
  ])('%s: %s', (key, probe) => {
    expect(isProbe(key)).toBe(probe);
  });
});

describe('the counts', () => {
  it('merge: counts add up and the latest time stays', () => {
    expect(
      mergeCounts([
        { a: { count: 2, lastSeen: '2026-01-01T10:00:00.000Z' } },
        {
          a: { count: 3, lastSeen: '2026-01-01T09:00:00.000Z' },
          b: { count: 1, lastSeen: '2026-01-01T08:00:00.000Z' },
        },
      ]),
    ).toEqual({
      a: { count: 5, lastSeen: '2026-01-01T10:00:00.000Z' },
      b: { count: 1, lastSeen: '2026-01-01T08:00:00.000Z' },
    });
  });

  it('rank the most missed first, then the latest', () => {
    const ranked = mostMissed(
      {
        rare: { count: 1, lastSeen: '2026-01-01T10:00:00.000Z' },
        old: { count: 4, lastSeen: '2026-01-01T01:00:00.000Z' },
        new: { count: 4, lastSeen: '2026-01-01T02:00:00.000Z' },
      },
      2,
    );
    expect(ranked.map(({ key }) => key)).toEqual(['new', 'old']);
  });
});

describe('MissedKeys: counted in memory, written per feed and hour', () => {
  const at = (time: string) => new Date(`2026-01-01T${time}Z`);

  it('writes nothing per miss, and the hour so far at each flush', async () => {
    const { container, written } = capturing();
    const misses = new MissedKeys(container);
    misses.record('team', KEY, at('10:01:00'));
    misses.record('team', KEY, at('10:02:00'));
    misses.record('team', 'app.pd_/497b72f6390a44fc878e5a2d63b6cc4b1/app.pd_', at('10:02:00'));
    misses.record('other', KEY, at('10:03:00'));
    expect(written.size).toBe(0);
    await misses.flush(at('10:04:00'));
    const names = [...written.keys()].sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^other\/2026-01-01T10\/[0-9a-f-]{36}\.json$/);
    expect(written.get(names[1]!)).toEqual({
      [KEY]: { count: 2, lastSeen: '2026-01-01T10:02:00.000Z' },
    });
  });

  it('starts a new hour from nothing, and writes only feeds that changed', async () => {
    const { container, written } = capturing();
    const misses = new MissedKeys(container);
    misses.record('team', KEY, at('10:59:00'));
    await misses.flush(at('11:00:30'));
    written.clear();
    await misses.flush(at('11:01:00'));
    expect(written.size).toBe(0);
    misses.record('team', KEY, at('11:02:00'));
    await misses.flush(at('11:03:00'));
    const [name = '', counts] = [...written.entries()][0] ?? [];
    expect(name).toContain(`/${hourOf(at('11:02:00'))}/`);
    expect(counts).toEqual({ [KEY]: { count: 1, lastSeen: '2026-01-01T11:02:00.000Z' } });
  });

  it(`keeps at most ${MAX_KEYS} keys an hour, counting those it has`, async () => {
    const { container, written } = capturing();
    const misses = new MissedKeys(container);
    for (let i = 0; i <= MAX_KEYS; i++) misses.record('team', `k${i}`, at('10:00:00'));
    misses.record('team', 'k0', at('10:00:01'));
    await misses.flush(at('10:00:02'));
    const counts = [...written.values()][0] as Record<string, { count: number }>;
    expect(Object.keys(counts)).toHaveLength(MAX_KEYS);
    expect(counts.k0?.count).toBe(2);
    expect(counts[`k${MAX_KEYS}`]).toBeUndefined();
  });
});
