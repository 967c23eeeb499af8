import { useEffect, useState } from 'preact/hooks';
import type { UiFeed } from '../../shared/ui/uiApi';
import { AdminView } from './admin';
import { call, seg, session } from './api';
import { FeedsView, FeedSetup, FeedSummary } from './feeds';
import { Lookup } from './lookup';
import { MissingSymbols } from './missing';
import { PackageList, PackageView } from './packages';
import { Loading, Problem, TokenForm, useLoad } from './ui';

/** Where the page is: the part after "#", so that "/" is the only path the server answers. */
function useRoute(): string[] {
  const read = () =>
    location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

interface Who {
  readonly feed: string;
  readonly scopes: readonly string[];
  readonly owner: string;
}

/** Sign-in with a feed token: checked once, kept in this tab's session storage. */
function SignIn({ onChange }: { onChange: () => void }) {
  const [who, setWho] = useState<Who | undefined>();
  useEffect(() => {
    if (session.feedToken()) call<Who>('/ui/api/whoami').then(setWho, () => setWho(undefined));
  }, []);
  const signOut = () => {
    session.setFeedToken(null);
    setWho(undefined);
    onChange();
  };
  if (who) {
    return (
      <div class="signin">
        <span>
          Signed in to <strong>{who.feed}</strong> ({who.scopes.join(', ')})
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </div>
    );
  }
  return (
    <TokenForm
      label="Feed token"
      button="Sign in"
      className="signin"
      keep={session.setFeedToken}
      check={async () => {
        setWho(await call<Who>('/ui/api/whoami'));
        onChange();
      }}
    />
  );
}

function FeedView({ name }: { name: string }) {
  const {
    data: feed,
    error,
    loading,
  } = useLoad(() => call<UiFeed>(`/ui/api/feeds/${seg(name)}`), [name]);
  if (loading && !feed) return <Loading when />;
  if (error || !feed) {
    return (
      <>
        <h1>Feed not found</h1>
        <Problem error={error} />
      </>
    );
  }
  return (
    <>
      <h1>Feed {feed.name}</h1>
      <FeedSummary feed={feed} />
      <FeedSetup feed={feed} />
      <Lookup feed={feed.name} />
      {feed.members.length === 0 && <PackageList feed={feed.name} />}
      <MissingSymbols feed={feed.name} />
    </>
  );
}

function View({ route }: { route: string[] }) {
  const [first, feed, what, uid] = route;
  if (first === 'feeds' && feed && what === 'packages' && uid) {
    return <PackageView feed={feed} uid={uid} />;
  }
  if (first === 'feeds' && feed) return <FeedView name={feed} />;
  if (first === 'admin') return <AdminView />;
  return <FeedsView />;
}

export function App() {
  const route = useRoute();
  // Signing in or out shows every view anew, with what the new token opens.
  const [signedIn, setSignedIn] = useState(0);
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          symfeed
        </a>
        <nav aria-label="Main">
          <a href="#/">Feeds</a>
          <a href="#/admin">Administration</a>
        </nav>
        <SignIn onChange={() => setSignedIn((n) => n + 1)} />
      </header>
      <main id="main" tabIndex={-1} key={`${signedIn}`}>
        <View route={route} />
      </main>
    </>
  );
}
