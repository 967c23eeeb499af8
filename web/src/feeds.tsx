import type { FeedCounts, UiFeed } from '../../shared/ui/uiApi';
import { call, seg } from './api';
import { bytes, Copyable, Loading, Problem, useLoad } from './ui';

function retentionText(retention: UiFeed['retention']): string {
  const rules = [
    retention.keepLatestPerId && `keeps the newest ${retention.keepLatestPerId} of each id`,
    retention.maxAgeDays &&
      `deletes ${retention.prereleaseOnly ? 'prerelease ' : ''}uploads older than ${retention.maxAgeDays} days`,
    retention.maxPackages && `keeps at most ${retention.maxPackages} packages`,
  ].filter(Boolean);
  return rules.length ? rules.join('; ') : 'keeps everything';
}

function Counts({ name }: { name: string }) {
  const { data, error } = useLoad(
    () => call<{ counts: FeedCounts }>(`/ui/api/feeds/${seg(name)}`),
    [name],
  );
  if (error) return <Problem error={error} />;
  if (!data) return <span class="muted">counting…</span>;
  const { counts } = data;
  const atLeast = counts.complete ? '' : 'at least ';
  return (
    <span>
      {atLeast}
      {several(counts.packages, 'package')}, {atLeast}
      {several(counts.keys, 'key')}, {atLeast}
      {bytes(counts.bytes)}
    </span>
  );
}

function several(count: number, what: string): string {
  return `${count.toLocaleString()} ${what}${count === 1 ? '' : 's'}`;
}

/** How to reach one feed: its URLs and each client's exact line, with copy buttons. */
export function FeedSetup({ feed }: { feed: UiFeed }) {
  return (
    <details class="setup">
      <summary>URLs and debugger settings</summary>
      {feed.visibility === 'private' && (
        <p class="muted">
          Debuggers send no headers: a private feed's token goes in the URL where it says
          &lt;token&gt;. Use a read token.
        </p>
      )}
      <Copyable label="Symbol server (SSQP)" value={feed.setup.symbols} />
      <Copyable label="NuGet source" value={feed.setup.nuget} />
      <Copyable label="debuginfod" value={feed.setup.debuginfod} />
      {feed.setup.lines.map(({ client, line }) => (
        <Copyable key={client} label={client} value={line} />
      ))}
    </details>
  );
}

export function FeedSummary({ feed }: { feed: UiFeed }) {
  return (
    <dl class="facts">
      <dt>Visibility</dt>
      <dd>
        <span class={`badge ${feed.visibility === 'private' ? 'warn' : 'good'}`}>
          {feed.visibility}
        </span>
      </dd>
      <dt>Holds</dt>
      <dd>
        {feed.members.length ? (
          `an aggregate of ${feed.members.join(', ')}, in that order`
        ) : (
          <Counts name={feed.name} />
        )}
      </dd>
      <dt>Upstreams</dt>
      <dd>
        {feed.upstreams.length
          ? feed.upstreams.map((u) => `${u.url} (${u.kind})`).join(', ')
          : 'none'}
      </dd>
      <dt>Retention</dt>
      <dd>{retentionText(feed.retention)}</dd>
      {feed.mirror && (
        <>
          <dt>Mirror of</dt>
          <dd>{feed.mirror.url}</dd>
        </>
      )}
    </dl>
  );
}

export function FeedsView() {
  const { data, error, loading } = useLoad(() => call<{ feeds: UiFeed[] }>('/ui/api/feeds'), []);
  return (
    <>
      <h1>Feeds</h1>
      <Loading when={loading && !data} />
      <Problem error={error} />
      {data && data.feeds.length === 0 && <p>No feed you may read. Sign in with a feed token.</p>}
      <ul class="cards">
        {data?.feeds.map((feed) => (
          <li key={feed.name} class="card">
            <h2>
              <a href={`#/feeds/${seg(feed.name)}`}>{feed.name}</a>
            </h2>
            <FeedSummary feed={feed} />
            <FeedSetup feed={feed} />
          </li>
        ))}
      </ul>
    </>
  );
}
