import { Upstream } from '../feeds/feedTable';

export interface UpstreamLimits {
  /** For the answer, and for each wait on the body. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** What one upstream said about one key. */
export type UpstreamReply =
  | {
      readonly kind: 'found';
      /** The body; it throws when the upstream dies, stalls past the timeout or sends too much. */
      readonly body: AsyncIterable<Buffer>;
      /** What Content-Length declared, when it did. */
      readonly length?: number;
      /** Lets the connection go when the body is not read to its end. */
      readonly cancel: () => void;
    }
  /** A definite no (4xx), or a file over the size limit: not worth asking again soon. */
  | { readonly kind: 'miss'; readonly why: string }
  /** 5xx, a network error, a timeout, a redirect loop: the next request asks again. */
  | { readonly kind: 'failed'; readonly why: string };

/** msdl.microsoft.com answers with one redirect to blob storage; a chain this long is a loop. */
const MAX_REDIRECTS = 5;

export class UpstreamBodyError extends Error {
  constructor(
    message: string,
    /** The body runs past SYMFEED_UPSTREAM_MAX_BYTES. */
    readonly overLimit = false,
  ) {
    super(message);
    this.name = 'UpstreamBodyError';
  }
}

/**
 * Asks one upstream for a file. Only the upstream's own headers are sent, and only to its own
 * origin: redirects are followed by hand so that an Authorization meant for the upstream never
 * reaches the storage it redirects to. Nothing of the client's request (its Authorization, the
 * token of its path) is ever part of the request.
 */
export async function askUpstream(
  upstream: Pick<Upstream, 'url' | 'headers'>,
  url: string,
  limits: UpstreamLimits,
): Promise<UpstreamReply> {
  const origin = new URL(upstream.url).origin;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  let response: Response;
  let at = url;
  try {
    for (let hop = 0; ; hop++) {
      response = await fetch(at, {
        redirect: 'manual',
        signal: controller.signal,
        headers: new URL(at).origin === origin ? (upstream.headers ?? {}) : {},
      });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) break;
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS)
        return { kind: 'failed', why: `more than ${MAX_REDIRECTS} redirects` };
      at = new URL(location, at).href;
      if (!/^https?:$/.test(new URL(at).protocol)) {
        return { kind: 'failed', why: `a redirect to ${new URL(at).protocol} is not followed` };
      }
    }
  } catch (error) {
    clearTimeout(timer);
    return {
      kind: 'failed',
      why: controller.signal.aborted
        ? `no answer within ${limits.timeoutMs} ms`
        : `${(error as Error).message}${(error as Error).cause ? ` (${String((error as { cause: unknown }).cause)})` : ''}`,
    };
  }
  clearTimeout(timer);
  const cancel = () => controller.abort();
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return response.status >= 400 && response.status < 500
      ? { kind: 'miss', why: `HTTP ${response.status}` }
      : { kind: 'failed', why: `HTTP ${response.status}` };
  }
  const declared = response.headers.get('content-length');
  const length = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > limits.maxBytes) {
    cancel();
    return { kind: 'miss', why: `${length} bytes, over the limit of ${limits.maxBytes}` };
  }
  // A 200 to a GET always has a body; only HEAD, 204 and 304 answers have none.
  if (!response.body) return { kind: 'failed', why: 'HTTP 200 without a body' };
  return {
    kind: 'found',
    ...(length === undefined ? {} : { length }),
    cancel,
    body: bodyOf(response.body.getReader(), controller, limits, length),
  };
}

/**
 * The body, checked as it comes: each wait on the upstream is bounded by the timeout (the time a
 * slow client takes to read is not the upstream's), the total by the size limit and by the
 * length the upstream declared.
 */
async function* bodyOf(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  controller: AbortController,
  limits: UpstreamLimits,
  length: number | undefined,
): AsyncGenerator<Buffer> {
  let total = 0;
  try {
    for (;;) {
      const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new UpstreamBodyError(
          controller.signal.aborted
            ? `the body stalled for ${limits.timeoutMs} ms at ${total} bytes`
            : `the body broke off at ${total} bytes: ${(error as Error).message}`,
        );
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) break;
      total += chunk.value.length;
      if (total > limits.maxBytes) {
        throw new UpstreamBodyError(
          `the body runs past the limit of ${limits.maxBytes} bytes`,
          true,
        );
      }
      yield Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.length);
    }
    if (length !== undefined && total !== length) {
      throw new UpstreamBodyError(`the body ended at ${total} of its declared ${length} bytes`);
    }
  } finally {
    if (!controller.signal.aborted) controller.abort();
  }
}
