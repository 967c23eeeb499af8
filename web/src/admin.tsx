import { useState } from 'preact/hooks';
import type { ShownFeed } from '../../shared/feeds/feedTable';
import type { RetentionDecision } from '../../shared/packages/retention';
import { SCOPES } from '../../shared/feeds/scopes';
import { call, seg, session } from './api';
import { Copyable, Loading, Problem, TokenForm, useLoad } from './ui';

/** Management through the admin API (/manage), with the admin token kept in this tab only. */
export function AdminView() {
  const [signedIn, setSignedIn] = useState(Boolean(session.adminToken()));
  if (!signedIn) return <AdminSignIn onSignedIn={() => setSignedIn(true)} />;
  return (
    <>
      <h1>Administration</h1>
      <button
        type="button"
        onClick={() => {
          session.setAdminToken(null);
          setSignedIn(false);
        }}
      >
        Sign out of administration
      </button>
      <AdminFeeds />
    </>
  );
}

function AdminSignIn({ onSignedIn }: { onSignedIn: () => void }) {
  return (
    <>
      <h1>Administration</h1>
      <TokenForm
        label="Admin token"
        button="Sign in as admin"
        className="filters"
        keep={session.setAdminToken}
        check={async () => {
          await call('/manage/feeds', { admin: true });
          onSignedIn();
        }}
      />
    </>
  );
}

function AdminFeeds() {
  const { data, error, loading, reload } = useLoad(
    () => call<{ feeds: ShownFeed[] }>('/manage/feeds', { admin: true }),
    [],
  );
  const [plan, setPlan] = useState<{ feed: string; plan: RetentionDecision[] } | undefined>();
  const [problem, setProblem] = useState<Error | undefined>();
  const dryRun = async (feed: string) => {
    try {
      const answer = await call<{ plan: RetentionDecision[] }>(
        `/manage/feeds/${seg(feed)}/retention`,
        { admin: true },
      );
      setPlan({ feed, plan: answer.plan });
      setProblem(undefined);
    } catch (e) {
      setProblem(e as Error);
    }
  };
  return (
    <>
      <section aria-labelledby="all-feeds">
        <h2 id="all-feeds">All feeds</h2>
        <Loading when={loading && !data} />
        <Problem error={error ?? problem} />
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Feed</th>
                <th scope="col">Visibility</th>
                <th scope="col">Retention</th>
              </tr>
            </thead>
            <tbody>
              {data?.feeds.map((feed) => (
                <tr key={feed.name}>
                  <th scope="row">
                    <a href={`#/feeds/${seg(feed.name)}`}>{feed.name}</a>
                  </th>
                  <td>{feed.visibility}</td>
                  <td>
                    <button type="button" onClick={() => dryRun(feed.name)}>
                      Retention dry run of {feed.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {plan && (
          <div aria-live="polite">
            <h3>Retention plan of {plan.feed} (nothing was deleted)</h3>
            {plan.plan.length === 0 ? (
              <p>Retention would delete nothing now.</p>
            ) : (
              <ul>
                {plan.plan.map((d) => (
                  <li key={d.packageUid}>
                    {d.id} {d.version} ({d.name}): {d.reason}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </section>
      <CreateFeed onCreated={reload} />
      {data && <CreateToken feeds={data.feeds.map((f) => f.name)} />}
    </>
  );
}

function CreateFeed({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [visibility, setVisibility] = useState('private');
  const [said, setSaid] = useState('');
  const [problem, setProblem] = useState<Error | undefined>();
  const create = async (event: Event) => {
    event.preventDefault();
    try {
      await call(`/manage/feeds/${seg(name)}`, {
        admin: true,
        method: 'PUT',
        body: { visibility },
      });
      setSaid(`Feed ${name} is ready.`);
      setProblem(undefined);
      onCreated();
    } catch (e) {
      setProblem(e as Error);
    }
  };
  return (
    <section aria-labelledby="create-feed">
      <h2 id="create-feed">Create a feed</h2>
      <form class="filters" onSubmit={create}>
        <label>
          Feed name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </label>
        <label>
          Visibility
          <select value={visibility} onChange={(e) => setVisibility(e.currentTarget.value)}>
            <option value="private">private</option>
            <option value="public">public</option>
          </select>
        </label>
        <button type="submit">Create feed</button>
      </form>
      <p role="status">{said}</p>
      <Problem error={problem} />
    </section>
  );
}

function CreateToken({ feeds }: { feeds: string[] }) {
  const [feed, setFeed] = useState(feeds[0] ?? '');
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [expires, setExpires] = useState('90d');
  const [made, setMade] = useState<{ token: string; id: string } | undefined>();
  const [problem, setProblem] = useState<Error | undefined>();
  const create = async (event: Event) => {
    event.preventDefault();
    try {
      setMade(
        await call(`/manage/feeds/${seg(feed)}/tokens`, {
          admin: true,
          method: 'POST',
          body: { scopes, ...(expires && { expires }) },
        }),
      );
      setProblem(undefined);
    } catch (e) {
      setProblem(e as Error);
    }
  };
  return (
    <section aria-labelledby="create-token">
      <h2 id="create-token">Create a token</h2>
      <form class="filters" onSubmit={create}>
        <label>
          Feed
          <select value={feed} onChange={(e) => setFeed(e.currentTarget.value)}>
            {feeds.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} class="inline">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) =>
                  setScopes(
                    e.currentTarget.checked
                      ? [...scopes, scope]
                      : scopes.filter((s) => s !== scope),
                  )
                }
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <label>
          Expires after
          <input value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <button type="submit">Create token</button>
      </form>
      <Problem error={problem} />
      {made && (
        <div role="status">
          <p>
            <strong>Token {made.id}: shown only now.</strong> symfeed keeps only its hash.
          </p>
          <Copyable label="New token" value={made.token} />
        </div>
      )}
    </section>
  );
}

/** Deletes a package through the admin API, after the admin confirms. */
export function DeletePackage({ feed, uid, label }: { feed: string; uid: string; label: string }) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [said, setSaid] = useState('');
  const [problem, setProblem] = useState<Error | undefined>();
  if (!session.adminToken()) return null;
  const remove = async () => {
    try {
      const answer = await call<{ outcome: string }>(
        `/manage/feeds/${seg(feed)}/packages/${seg(uid)}`,
        { admin: true, method: 'DELETE', body: reason.trim() ? { reason: reason.trim() } : {} },
      );
      setSaid(
        answer.outcome === 'queued'
          ? `The delete of ${label} is queued: its keys stop being served now.`
          : `${label} is already deleted or on its way.`,
      );
      setConfirming(false);
      setProblem(undefined);
    } catch (e) {
      setProblem(e as Error);
    }
  };
  return (
    <section aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete</h2>
      {!confirming ? (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete this package
        </button>
      ) : (
        <div class="filters" role="group" aria-label="Confirm the delete">
          <label>
            Reason (optional)
            <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <button type="button" class="danger" onClick={remove}>
            Yes, delete {label}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <p role="status">{said}</p>
      <Problem error={problem} />
    </section>
  );
}
