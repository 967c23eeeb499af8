import { useState } from 'preact/hooks';
import type { PackageSummary } from '../../shared/admin/manage';
import type { DisplayedStatus } from '../../shared/packages/statusDocument';
import { PACKAGE_STATES } from '../../shared/packages/states';
import { DeletePackage } from './admin';
import { call, query, seg } from './api';
import { bytes, Loading, Problem, StateBadge, time, useLoad } from './ui';

interface Filter {
  readonly id: string;
  readonly state: string;
  readonly owner: string;
}

interface Page {
  readonly packages: PackageSummary[];
  readonly next?: string;
}

/** A feed's packages a page at a time: each "More" asks for the next page only. */
export function PackageList({ feed }: { feed: string }) {
  const [filter, setFilter] = useState<Filter>({ id: '', state: '', owner: '' });
  const [draft, setDraft] = useState<Filter>(filter);
  const [pages, setPages] = useState<string[]>(['']);
  const path = (next: string) =>
    `/ui/api/feeds/${seg(feed)}/packages${query({ ...filter, next: next || undefined })}`;
  const apply = (event: Event) => {
    event.preventDefault();
    setFilter(draft);
    setPages(['']);
  };
  return (
    <section aria-labelledby="packages-heading">
      <h2 id="packages-heading">Packages</h2>
      <form class="filters" onSubmit={apply} role="search" aria-label="Filter packages">
        <label>
          Id starts with
          <input
            name="id"
            value={draft.id}
            onInput={(e) => setDraft({ ...draft, id: e.currentTarget.value })}
          />
        </label>
        <label>
          State
          <select
            name="state"
            value={draft.state}
            onChange={(e) => setDraft({ ...draft, state: e.currentTarget.value })}
          >
            <option value="">any</option>
            {PACKAGE_STATES.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </label>
        <label>
          Owner
          <input
            name="owner"
            value={draft.owner}
            onInput={(e) => setDraft({ ...draft, owner: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Packages of {feed}</caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Keys</th>
              <th scope="col">Size</th>
              <th scope="col">Owner</th>
              <th scope="col">Uploaded</th>
            </tr>
          </thead>
          {pages.map((next, i) => (
            <PageRows
              key={`${JSON.stringify(filter)}:${next}`}
              feed={feed}
              path={path(next)}
              onMore={i === pages.length - 1 ? (token) => setPages([...pages, token]) : undefined}
            />
          ))}
        </table>
      </div>
    </section>
  );
}

function PageRows({
  feed,
  path,
  onMore,
}: {
  feed: string;
  path: string;
  onMore?: (next: string) => void;
}) {
  const { data, error, loading } = useLoad(() => call<Page>(path), [path]);
  return (
    <tbody>
      {loading && (
        <tr>
          <td colSpan={7}>
            <Loading when />
          </td>
        </tr>
      )}
      {error && (
        <tr>
          <td colSpan={7}>
            <Problem error={error} />
          </td>
        </tr>
      )}
      {data?.packages.map((p) => (
        <tr key={p.uid}>
          <th scope="row">
            <a href={`#/feeds/${seg(feed)}/packages/${p.uid}`}>{p.id || p.blob}</a>
          </th>
          <td>{p.version}</td>
          <td>
            <StateBadge state={p.state} />
            {p.errorCount > 0 && <span class="bad"> {plural(p.errorCount, 'error')}</span>}
            {p.warningCount > 0 && <span class="warn"> {plural(p.warningCount, 'warning')}</span>}
          </td>
          <td>{p.keyCount.toLocaleString()}</td>
          <td>{bytes(p.size)}</td>
          <td>{p.owner || <span class="muted">(storage)</span>}</td>
          <td>{time(p.uploadedAt)}</td>
        </tr>
      ))}
      {data && onMore && (
        <tr>
          <td colSpan={7}>
            {data.next ? (
              <button type="button" onClick={() => onMore(data.next!)}>
                More packages
              </button>
            ) : (
              <span class="muted">End of the list.</span>
            )}
          </td>
        </tr>
      )}
    </tbody>
  );
}

const plural = (count: number, word: string) =>
  `${count.toLocaleString()} ${word}${count === 1 ? '' : 's'}`;

const SOURCE_WORDS: Record<string, string> = {
  explicit: 'explicit (named in symbol_index.json)',
  derived: 'derived from the file',
  upstream: 'fetched from an upstream',
};

/** A package's status document, in words. */
export function PackageView({ feed, uid }: { feed: string; uid: string }) {
  const {
    data: doc,
    error,
    loading,
  } = useLoad(
    () => call<DisplayedStatus>(`/ui/api/feeds/${seg(feed)}/packages/${seg(uid)}`),
    [feed, uid],
  );
  const [allKeys, setAllKeys] = useState(false);
  if (loading && !doc) return <Loading when />;
  if (error || !doc) {
    return (
      <>
        <h1>Package not found</h1>
        <Problem error={error} />
      </>
    );
  }
  const keys = allKeys ? doc.keys : doc.keys.slice(0, 100);
  return (
    <>
      <h1>
        {doc.id || doc.name} {doc.version}
      </h1>
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <StateBadge state={doc.state} />
        </dd>
        <dt>File</dt>
        <dd>{doc.pushedName ?? doc.name}</dd>
        <dt>Owner</dt>
        <dd>{doc.owner || 'none: dropped into storage'}</dd>
        <dt>Uploaded</dt>
        <dd>{time(doc.uploadedAt)}</dd>
        <dt>First indexed</dt>
        <dd>{time(doc.firstIndexedAt)}</dd>
        <dt>Size</dt>
        <dd>{bytes(doc.size)}</dd>
        {doc.fetchedFrom && (
          <>
            <dt>Fetched from</dt>
            <dd>
              {doc.fetchedFrom.url} at {time(doc.fetchedFrom.at)}
            </dd>
          </>
        )}
        <dt>Uid</dt>
        <dd>
          <code>{doc.packageUid}</code>
        </dd>
      </dl>
      {doc.omitted && <p class="muted">{doc.omitted}</p>}
      <DeletePackage feed={feed} uid={uid} label={`${doc.id || doc.name} ${doc.version}`} />
      <section aria-labelledby="problems-heading">
        <h2 id="problems-heading">Errors and warnings</h2>
        {doc.errors.length === 0 && doc.warnings.length === 0 && <p>None.</p>}
        <ul>
          {doc.errors.map((message, i) => (
            <li key={`e${i}`}>
              <strong class="bad">Error:</strong> {message}
            </li>
          ))}
          {doc.warnings.map((message, i) => (
            <li key={`w${i}`}>
              <strong class="warn">Warning:</strong> {message}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <ol class="history">
          {doc.history.map((change, i) => (
            <li key={i}>
              <time dateTime={change.at}>{time(change.at)}</time>{' '}
              <StateBadge state={change.state} />
              {change.reason && <span> — {change.reason}</span>}
            </li>
          ))}
        </ol>
      </section>
      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Keys ({doc.keyCount.toLocaleString()})</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Kind</th>
                <th scope="col">Format</th>
                <th scope="col">File in the package</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.key}>
                  <td>
                    <code>{k.clientKey}</code>
                  </td>
                  <td>{SOURCE_WORDS[k.source] ?? k.source}</td>
                  <td>{k.convention ?? '—'}</td>
                  <td>{k.location.entry}</td>
                  <td>{bytes(k.location.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {!allKeys && doc.keys.length > keys.length && (
          <button type="button" onClick={() => setAllKeys(true)}>
            Show all {doc.keys.length.toLocaleString()} keys
          </button>
        )}
      </section>
    </>
  );
}
