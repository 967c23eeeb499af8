import { useState } from 'preact/hooks';
import type { MissedKey } from '../../shared/misses/missedKeys';
import { call, download, seg } from './api';
import { Loading, Problem, time, useLoad } from './ui';

interface Missing {
  readonly '24h': MissedKey[];
  readonly '7d': MissedKey[];
  readonly flushSeconds: number;
}

function MissedTable({ title, keys }: { title: string; keys: readonly MissedKey[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Misses</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 && (
            <tr>
              <td colSpan={3}>None.</td>
            </tr>
          )}
          {keys.map((miss) => (
            <tr key={miss.key}>
              <td>
                <code>{miss.key}</code>
              </td>
              <td>{miss.count.toLocaleString()}</td>
              <td>{time(miss.lastSeen)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The keys debuggers asked this feed for in vain, SymSrv's probes left out. */
export function MissingSymbols({ feed }: { feed: string }) {
  const path = `/ui/api/feeds/${seg(feed)}/missing`;
  const { data, error, loading, reload } = useLoad(() => call<Missing>(path), [path]);
  const [problem, setProblem] = useState<Error | undefined>();
  const csv = () =>
    download(`${path}?format=csv`, `${feed}-missing-symbols.csv`).catch((e: Error) =>
      setProblem(e),
    );
  return (
    <section aria-labelledby="missing-heading">
      <h2 id="missing-heading">Missing symbols</h2>
      <p class="muted">
        The keys most asked for and not found (SymSrv's probes for .pd_, file.ptr and index2.txt
        left out). Each server records them every {data?.flushSeconds ?? 60} seconds.
      </p>
      <div class="filters">
        <button type="button" onClick={reload}>
          Refresh
        </button>
        <button type="button" onClick={csv}>
          Download CSV
        </button>
      </div>
      <Problem error={error ?? problem} />
      <Loading when={loading && !data} />
      {data && (
        <>
          <MissedTable title="Last 24 hours" keys={data['24h']} />
          <MissedTable title="Last 7 days" keys={data['7d']} />
        </>
      )}
    </section>
  );
}
