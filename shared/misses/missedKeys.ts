import { randomUUID } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { isAbsent } from '../storage/faults';

/**
 * Keys debuggers asked a feed for in vain, counted in memory by the serving path (no storage
 * write per miss) and written once a minute, per feed and hour, into one blob per process:
 * `{feed}/{yyyy-mm-ddThh}/{process}.json` in the `misses` container, rewritten whole with the
 * hour's counts so far. Reading merges a feed's blobs of the hours asked for. A process keeps at
 * most MAX_KEYS keys an hour: past that, new keys are not counted until the next hour.
 */
export const FLUSH_MS = 60_000;
export const MAX_KEYS = 10_000;

/** What SymSrv clients ask before the file itself: their misses say nothing. */
export function isProbe(key: string): boolean {
  const last = key.split('/').pop() ?? '';
  return (
    last.endsWith('.pd_') || last === 'file.ptr' || key === 'index2.txt' || last === 'index2.txt'
  );
}

export interface MissCount {
  readonly count: number;
  /** ISO time of the last miss. */
  readonly lastSeen: string;
}

export type HourCounts = Record<string, MissCount>;

const hourCountsSchema = z.record(
  z.string(),
  z.object({ count: z.number().int().nonnegative(), lastSeen: z.string() }),
);

export function hourOf(time: Date): string {
  return time.toISOString().slice(0, 13);
}

/** Counts of several hours (or processes) as one: counts add up, the latest time stays. */
export function mergeCounts(parts: readonly HourCounts[]): HourCounts {
  const merged: Record<string, MissCount> = {};
  for (const part of parts) {
    for (const [key, { count, lastSeen }] of Object.entries(part)) {
      const seen = merged[key];
      merged[key] = seen
        ? {
            count: seen.count + count,
            lastSeen: seen.lastSeen > lastSeen ? seen.lastSeen : lastSeen,
          }
        : { count, lastSeen };
    }
  }
  return merged;
}

export interface MissedKey extends MissCount {
  readonly key: string;
}

/** The most missed first, then the latest. */
export function mostMissed(counts: HourCounts, limit: number): MissedKey[] {
  return Object.entries(counts)
    .map(([key, miss]) => ({ key, ...miss }))
    .sort((a, b) => b.count - a.count || b.lastSeen.localeCompare(a.lastSeen))
    .slice(0, limit);
}

/** One process's counts of the current hour, written by `flush`. */
export class MissedKeys {
  private readonly process = randomUUID();
  /** The hour the counts are of; undefined until the first miss. */
  private hour: string | undefined;
  private keys = 0;
  private counts = new Map<string, Map<string, { count: number; lastSeen: string }>>();
  private changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly container: ContainerClient) {}

  /** Counts a miss; the serving path calls it where it answers 404 for a key no package has. */
  record(feed: string, key: string, now = new Date()): void {
    if (isProbe(key)) return;
    this.startTimer();
    const hour = hourOf(now);
    // The last hour's counts are written whole, and the new hour starts from nothing.
    if (this.hour !== undefined && hour !== this.hour) void this.flush(now).catch(() => undefined);
    this.hour = hour;
    let ofFeed = this.counts.get(feed);
    if (!ofFeed) this.counts.set(feed, (ofFeed = new Map()));
    const seen = ofFeed.get(key);
    if (seen) {
      seen.count += 1;
      seen.lastSeen = now.toISOString();
    } else {
      if (this.keys >= MAX_KEYS) return;
      this.keys += 1;
      ofFeed.set(key, { count: 1, lastSeen: now.toISOString() });
    }
    this.changed.add(feed);
  }

  /** Writes the hour's counts of each feed that changed; a new hour starts from nothing. */
  async flush(now = new Date()): Promise<void> {
    const hour = this.hour;
    if (hour === undefined) return;
    const feeds = [...this.changed];
    const counts = this.counts;
    this.changed = new Set();
    if (hourOf(now) !== hour) {
      this.hour = undefined;
      this.counts = new Map();
      this.keys = 0;
    }
    await Promise.all(
      feeds.map(async (feed) => {
        const body = JSON.stringify(Object.fromEntries(counts.get(feed) ?? []));
        await this.container
          .getBlockBlobClient(`${feed}/${hour}/${this.process}.json`)
          .upload(body, Buffer.byteLength(body), {
            blobHTTPHeaders: { blobContentType: 'application/json' },
          });
      }),
    );
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), FLUSH_MS);
    this.timer.unref();
  }
}

export const DAY_HOURS = 24;
export const WEEK_HOURS = 7 * 24;

/**
 * A feed's missed keys over the last 24 hours and the last 7 days: the blobs of those hours,
 * merged, found by one listing of the feed's folder. Older blobs are not read (a lifecycle rule
 * on the container may delete them).
 */
export async function readMissedKeys(
  container: ContainerClient,
  feed: string,
  now = new Date(),
): Promise<{ day: HourCounts; week: HourCounts }> {
  const since = (hours: number) => hourOf(new Date(now.getTime() - (hours - 1) * 3600_000));
  const [daySince, weekSince] = [since(DAY_HOURS), since(WEEK_HOURS)];
  const day: HourCounts[] = [];
  const week: HourCounts[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: `${feed}/` })) {
    const hour = blob.name.split('/')[1] ?? '';
    if (hour < weekSince) continue;
    try {
      const download = await container.getBlobClient(blob.name).download();
      const counts = hourCountsSchema.parse(JSON.parse(await text(download.readableStreamBody!)));
      week.push(counts);
      if (hour >= daySince) day.push(counts);
    } catch (error) {
      if (!isAbsent(error)) throw error;
    }
  }
  return { day: mergeCounts(day), week: mergeCounts(week) };
}
