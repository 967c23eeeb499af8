import { useEffect, useState } from 'preact/hooks';

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

export function App() {
  const route = useRoute();
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          symfeed
        </a>
      </header>
      <main id="main">
        <h1>Feeds</h1>
        <p>{route.join('/')}</p>
      </main>
    </>
  );
}
