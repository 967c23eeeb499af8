import { Readable } from 'node:stream';
import { Settings } from '../config/settings';
import { FeedCache } from '../feeds/feedCache';
import { Feed, Upstream } from '../feeds/feedTable';
import { EntryLocation } from '../index/location';
import { StorageClients } from '../storage/clients';
import { askUpstream, UpstreamBodyError, UpstreamReply } from './fetchUpstream';
import { storeUpstreamFile } from './storeUpstream';
import { upstreamUrls } from './upstreamKeys';
import { UpstreamMemory } from './upstreamMisses';

export type UpstreamAnswer =
  /** No upstream has the key; `failed` names those that could not say (5xx, timeouts, ...). */
  | { readonly kind: 'none'; readonly failed: readonly string[] }
  /** Fetched and stored already: serve it from its package. */
  | { readonly kind: 'stored'; readonly location: EntryLocation }
  /**
   * Being fetched for this request: `body` carries the bytes as they arrive (and is cut if the
   * fetch fails), `stored` settles once the package is committed.
   */
  | {
      readonly kind: 'fetching';
      readonly url: string;
      readonly body: Readable;
      readonly length?: number;
      readonly stored: Promise<EntryLocation>;
    };

export interface UpstreamPorts {
  readonly settings: Pick<
    Settings,
    'SYMFEED_UPSTREAM_MISS_SECONDS' | 'SYMFEED_UPSTREAM_TIMEOUT_MS' | 'SYMFEED_UPSTREAM_MAX_BYTES'
  >;
  readonly storage: Pick<StorageClients, 'packagesContainer'>;
  readonly feeds: Pick<FeedCache, 'feed' | 'leafMembers'>;
  /** Told of a key stored in a feed, so that a remembered miss of it goes at once. */
  readonly keyStored: (feed: string, key: string) => void;
}

/**
 * Asks a feed's upstreams for keys none of its packages has, and stores what they have in the
 * feed. An aggregate asks its members' upstreams, member by member in its order, and stores what
 * one has in the member that lists it.
 */
export class Upstreams {
  private readonly memory: UpstreamMemory;

  constructor(private readonly ports: UpstreamPorts) {
    this.memory = new UpstreamMemory(ports.settings.SYMFEED_UPSTREAM_MISS_SECONDS * 1000);
  }

  async find(feed: Feed, key: string, clientKey: string): Promise<UpstreamAnswer> {
    const id = `${feed.name}\n${key}`;
    const stored = this.memory.stored(id);
    if (stored) return { kind: 'stored', location: stored };
    const flight = this.memory.flight(id);
    if (flight) {
      const location = await flight;
      return location ? { kind: 'stored', location } : { kind: 'none', failed: [] };
    }
    return this.memory.lead(
      id,
      () => this.ask(feed, key, clientKey),
      async (answer) => (answer.kind === 'fetching' ? answer.stored : undefined),
    );
  }

  /** A stored file whose package is gone or replaced: the next request looks again. */
  forget(feed: Feed, key: string): void {
    this.memory.forget(`${feed.name}\n${key}`);
  }

  private async targets(feed: Feed): Promise<[string, Upstream][]> {
    if (feed.members.length === 0) return feed.upstreams.map((upstream) => [feed.name, upstream]);
    const targets: [string, Upstream][] = [];
    for (const name of await this.ports.feeds.leafMembers(feed)) {
      const member = await this.ports.feeds.feed(name);
      for (const upstream of member?.upstreams ?? []) targets.push([name, upstream]);
    }
    return targets;
  }

  private async ask(feed: Feed, key: string, clientKey: string): Promise<UpstreamAnswer> {
    const { settings, storage } = this.ports;
    const limits = {
      timeoutMs: settings.SYMFEED_UPSTREAM_TIMEOUT_MS,
      maxBytes: settings.SYMFEED_UPSTREAM_MAX_BYTES,
    };
    const failed: string[] = [];
    for (const [member, upstream] of await this.targets(feed)) {
      const missId = `${member}\n${upstream.kind}\n${upstream.url}\n${key}`;
      if (this.memory.missed(missId)) continue;
      let reply: UpstreamReply = { kind: 'miss', why: 'no form of the key to ask' };
      let url = '';
      for (url of upstreamUrls(upstream, clientKey)) {
        reply = await askUpstream(upstream, url, limits);
        if (reply.kind !== 'miss') break;
      }
      if (reply.kind === 'miss') this.memory.rememberMiss(missId);
      if (reply.kind === 'failed') failed.push(`${upstream.url}: ${reply.why}`);
      if (reply.kind !== 'found') continue;
      const storing = storeUpstreamFile(storage.packagesContainer, {
        feed: member,
        key,
        clientKey,
        upstream,
        url,
        body: reply.body,
        cancel: reply.cancel,
      });
      const stored = storing.stored.then(
        (location) => {
          this.ports.keyStored(member, key);
          return location;
        },
        (error: unknown) => {
          // Too large to store now is too large next time: remembered like a miss.
          if (error instanceof UpstreamBodyError && error.overLimit)
            this.memory.rememberMiss(missId);
          throw error;
        },
      );
      stored.catch(() => undefined);
      return {
        kind: 'fetching',
        url,
        body: storing.client,
        ...(reply.length === undefined ? {} : { length: reply.length }),
        stored,
      };
    }
    return { kind: 'none', failed };
  }
}
