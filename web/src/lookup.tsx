import { useState } from 'preact/hooks';
import type { LookupAnswer, Offer } from '../../shared/ui/lookup';
import { ApiError, call, query, seg } from './api';
import { Problem, StateBadge, time } from './ui';

const HOW: Record<string, string> = {
  explicit: 'explicit',
  derived: 'derived',
  upstream: 'fetched from an upstream',
};

function PackageLink({ offer }: { offer: Pick<Offer, 'feed' | 'packageUid' | 'id' | 'version'> }) {
  return (
    <a href={`#/feeds/${seg(offer.feed)}/packages/${offer.packageUid}`}>
      {offer.id || offer.packageUid} {offer.version}
    </a>
  );
}

/** "Why is my symbol missing?": what a key, URL, file name or id finds in this feed, and why. */
export function Lookup({ feed }: { feed: string }) {
  const [text, setText] = useState('');
  const [answer, setAnswer] = useState<LookupAnswer | undefined>();
  const [problem, setProblem] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const look = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      setAnswer(await call<LookupAnswer>(`/ui/api/feeds/${seg(feed)}/lookup${query({ q: text })}`));
      setProblem(undefined);
    } catch (error) {
      setAnswer(undefined);
      setProblem(error as ApiError);
    }
    setBusy(false);
  };
  return (
    <section aria-labelledby="lookup-heading">
      <h2 id="lookup-heading">Why is my symbol missing?</h2>
      <form class="filters" onSubmit={look} role="search" aria-label="Look up a key">
        <label class="grow">
          Key, SSQP URL, file name, build-id, or file name and PDB signature
          <input
            name="q"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            placeholder="app.pdb/497b72f6390a44fc878e5a2d63b6cc4b1/app.pdb"
            required
          />
        </label>
        <button type="submit" disabled={busy}>
          Look up
        </button>
      </form>
      <Problem error={problem} />
      {answer && <LookupResult answer={answer} />}
    </section>
  );
}

function LookupResult({ answer }: { answer: LookupAnswer }) {
  return (
    <div class="lookup" aria-live="polite">
      {answer.key && (
        <p>
          Read as {answer.read}: <code>{answer.key}</code>
        </p>
      )}
      {answer.key &&
        (answer.serving ? (
          <p class="verdict good">
            Served from <PackageLink offer={answer.serving} /> ({HOW[answer.serving.source]} key
            {answer.serving.feed ? ` in ${answer.serving.feed}` : ''}): {answer.why}
          </p>
        ) : (
          <p class="verdict bad">No package in this feed offers this key.</p>
        ))}
      {answer.offers.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Packages offering the key, best first</caption>
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Feed</th>
                <th scope="col">Kind</th>
                <th scope="col">First indexed</th>
                <th scope="col">File</th>
                <th scope="col">Served</th>
              </tr>
            </thead>
            <tbody>
              {answer.offers.map((offer) => (
                <tr key={`${offer.feed}/${offer.packageUid}`}>
                  <td>
                    <PackageLink offer={offer} />{' '}
                    {offer.state && <StateBadge state={offer.state} />}
                  </td>
                  <td>{offer.feed}</td>
                  <td>{HOW[offer.source]}</td>
                  <td>{time(new Date(offer.firstIndexedAt).toISOString())}</td>
                  <td>{offer.entry}</td>
                  <td>{offer.serving ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(answer.file || answer.nearest.length > 0) && (
        <>
          <h3>The same file name under other keys</h3>
          {answer.nearest.length === 0 ? (
            <p>
              No other key of <code>{answer.file}</code> is indexed here.
            </p>
          ) : (
            <>
              <p>
                A binary rebuilt since these were uploaded has another index: upload the symbols of
                the build the debugger asks for.
              </p>
              <ul class="nearest">
                {answer.nearest.map((hit) => (
                  <li key={`${hit.feed}/${hit.key}/${hit.packageUid}`}>
                    <code>{hit.key}</code> in <PackageLink offer={hit} /> ({HOW[hit.source]}
                    {hit.feed ? `, ${hit.feed}` : ''})
                  </li>
                ))}
              </ul>
              {answer.moreNearest && <p class="muted">More keys have this name than are shown.</p>}
            </>
          )}
        </>
      )}
      {answer.key && !answer.serving && (
        <>
          <h3>Upstreams asked for it</h3>
          {answer.upstreams.length === 0 ? (
            <p>None: this feed asks no other server.</p>
          ) : (
            <ol>
              {answer.upstreams.map((u) => (
                <li key={`${u.feed} ${u.url}`}>
                  {u.url} ({u.kind}
                  {u.feed ? `, for ${u.feed}` : ''})
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </div>
  );
}
