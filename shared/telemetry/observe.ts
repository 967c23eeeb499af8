import { performance } from 'node:perf_hooks';
import { finished, Readable } from 'node:stream';
import { DamagedEntryError } from '../serve/verifiedEntry';
import { IndexOutcome } from '../indexing/indexPackage';
import {
  recordDelete,
  recordIndexRun,
  recordNuGetPush,
  recordSymbolAnswer,
  SymbolRoute,
} from './metrics';

/** What a symbol answer tells telemetry (serveSymbol's SymbolResponse, or a refusal before it). */
interface CountedAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  readonly feed?: string;
  readonly cache?: 'hot' | 'cold';
}

/**
 * Counts one symbol request by how it was answered. The time to first byte runs until the answer
 * is ready to send: its headers known, a small file's bytes in hand, a large one's blob read
 * under way. A streamed answer is counted when its stream ends: one that breaks off because the
 * file is damaged counts as an error that served nothing.
 */
export async function countedSymbolAnswer<T extends CountedAnswer>(
  route: SymbolRoute,
  answer: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let response: T;
  try {
    response = await answer();
  } catch (error) {
    recordSymbolAnswer({ route, status: 500, cache: 'cold', ttfbMs: 0, bytes: 0 });
    throw error;
  }
  const answered = {
    route,
    status: response.status,
    ...(response.feed === undefined ? {} : { feed: response.feed }),
    cache: response.cache ?? 'cold',
    ttfbMs: performance.now() - started,
    bytes: response.body === undefined ? 0 : Number(response.headers['Content-Length'] ?? 0),
  };
  if (!(response.body instanceof Readable)) {
    recordSymbolAnswer(answered);
    return response;
  }
  finished(response.body, (error) =>
    recordSymbolAnswer(
      error instanceof DamagedEntryError ? { ...answered, status: 500, bytes: 0 } : answered,
    ),
  );
  return response;
}

/**
 * Counts one indexing run of a package of `feed`, timed, by its outcome: the state an indexed package was left in, or
 * what the run found instead (`unchanged`, `deleting`, `gone`, `superseded`); a run that throws
 * counts as `failed`.
 */
export async function countedIndexRun(
  feed: string,
  run: () => Promise<IndexOutcome>,
): Promise<IndexOutcome> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const outcome = await run();
    if (outcome.kind === 'indexed') recordIndexRun(feed, outcome.state, seconds(), outcome.keys);
    else recordIndexRun(feed, outcome.kind, seconds(), 0);
    return outcome;
  } catch (error) {
    recordIndexRun(feed, 'failed', seconds(), 0);
    throw error;
  }
}

/** Counts one NuGet push by how it was answered; a push that throws counts as `error`. */
export async function countedNuGetPush<T extends { readonly status?: number }>(
  answer: () => Promise<T>,
): Promise<T> {
  try {
    const response = await answer();
    recordNuGetPush(response.status ?? 200);
    return response;
  } catch (error) {
    recordNuGetPush(500);
    throw error;
  }
}

/** Counts one delete message of `feed` by its outcome; a delete that throws counts as `failed`. */
export async function countedDelete<T extends string>(
  feed: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    const outcome = await run();
    recordDelete(feed, outcome);
    return outcome;
  } catch (error) {
    recordDelete(feed, 'failed');
    throw error;
  }
}
