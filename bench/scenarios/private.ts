import { load, LoadResult } from '../support/load';
import { ratio } from '../support/stats';
import { Fixtures } from './fixtures';

export interface PrivateResult {
  readonly connections: number;
  readonly public: LoadResult;
  readonly private: LoadResult;
  /** Private req/s / public req/s. */
  readonly privateRpsRatio: number | null;
}

/**
 * The same hot 4 KB file from the public feed and, with `Authorization: Bearer <read token>`,
 * from the private one, back to back on the hot server: what checking a token costs a request.
 */
export async function privateScenario(
  hot: string,
  fixtures: Fixtures,
  plan: { connections: number; seconds: number },
  log: (line: string) => void,
): Promise<PrivateResult> {
  const publicEntry = fixtures.small[0];
  if (!publicEntry) throw new Error('no small entry to compare the private feed with');
  const authorization = { Authorization: `Bearer ${fixtures.privateSmall.token}` };
  const runs = [
    { url: `${hot}${publicEntry.path}`, headers: {} },
    { url: `${hot}${fixtures.privateSmall.path}`, headers: authorization },
  ];
  const results: LoadResult[] = [];
  for (const run of runs) {
    // Hot means cached: one request fills the caches before anything is measured.
    const warm = await fetch(run.url, { headers: run.headers });
    await warm.arrayBuffer();
    if (warm.status !== 200) throw new Error(`GET ${run.url} gave ${warm.status}`);
    results.push(await load({ ...run, ...plan }));
  }
  const [pub, priv] = results as [LoadResult, LoadResult];
  const result = {
    connections: plan.connections,
    public: pub,
    private: priv,
    privateRpsRatio: ratio(priv.requestsPerSecond, pub.requestsPerSecond),
  };
  log(
    `private c=${plan.connections}: ${priv.requestsPerSecond.toFixed(0)} req/s with a Bearer token, ` +
      `public ${pub.requestsPerSecond.toFixed(0)} req/s, ratio ${result.privateRpsRatio?.toFixed(2)}` +
      (priv.failures ? `, ${priv.failures} failures ${JSON.stringify(priv.statuses)}` : ''),
  );
  return result;
}
