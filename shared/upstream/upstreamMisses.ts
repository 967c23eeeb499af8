import { EntryLocation } from '../index/location';
import { TtlCache } from '../util/ttlCache';

const MAX_REMEMBERED = 100_000;
/**
 * How long a fetched file is served from where it was stored, before the location cache finds
 * it through the index: longer than the indexer takes to index a one-file package.
 */
const FETCHED_MS = 5 * 60 * 1000;

/**
 * What this process remembers of upstreams: the keys each upstream said it does not have (so that
 * probes such as `foo.pd_`, `file.ptr` or `index2.txt` do not reach it again and again), the
 * files it fetched and stored, and the fetches under way, which concurrent requests for the same
 * key wait for rather than ask again (single flight).
 */
export class UpstreamMemory {
  private readonly misses = new TtlCache<true>(MAX_REMEMBERED);
  private readonly fetched = new TtlCache<EntryLocation>(MAX_REMEMBERED);
  private readonly flights = new Map<string, Promise<EntryLocation | undefined>>();

  constructor(private readonly missMs: number) {}

  missed(id: string): boolean {
    return this.misses.get(id).hit;
  }

  rememberMiss(id: string): void {
    this.misses.set(id, true, this.missMs);
  }

  /** A file this process stored, until the index serves it. */
  stored(id: string): EntryLocation | undefined {
    const found = this.fetched.get(id);
    return found.hit ? found.value : undefined;
  }

  forget(id: string): void {
    this.fetched.delete(id);
  }

  /** The fetch of this key under way, if one is: it settles with the file's place, if stored. */
  flight(id: string): Promise<EntryLocation | undefined> | undefined {
    return this.flights.get(id);
  }

  /**
   * Makes `lead` the one fetch of `id` until `done` (what it returns) settles. Concurrent
   * requests find it through `flight`.
   */
  async lead<T>(
    id: string,
    lead: () => Promise<T>,
    done: (result: T) => Promise<EntryLocation | undefined>,
  ): Promise<T> {
    let settle: (location: EntryLocation | undefined) => void = () => undefined;
    this.flights.set(
      id,
      new Promise((resolve) => {
        settle = resolve;
      }),
    );
    const finish = (location: EntryLocation | undefined) => {
      if (location) this.fetched.set(id, location, FETCHED_MS);
      this.flights.delete(id);
      settle(location);
    };
    try {
      const result = await lead();
      done(result).then(finish, () => finish(undefined));
      return result;
    } catch (error) {
      finish(undefined);
      throw error;
    }
  }
}
