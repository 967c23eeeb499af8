import { z } from 'zod';
import { Mirror } from '../feeds/feedTable';

/** A mirror run that cannot go on, in words the operator can act on. */
export class MirrorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MirrorError';
  }
}

/** JSON documents of the source are small; a source that stalls longer fails the run. */
const DOCUMENT_TIMEOUT_MS = 30_000;

/**
 * The source of a mirror as its requests see it: the token goes as Bearer to the source's
 * origin alone, so a document that links elsewhere never receives it.
 */
export class MirrorSource {
  private readonly origin: string;

  constructor(
    readonly mirror: Mirror,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.origin = new URL(mirror.url).origin;
  }

  private headers(url: string): Record<string, string> {
    const token = this.mirror.token;
    return token !== undefined && new URL(url).origin === this.origin
      ? { Authorization: `Bearer ${token}` }
      : {};
  }

  async get(url: string, timeoutMs?: number): Promise<Response> {
    if (!/^https?:$/.test(new URL(url).protocol)) {
      throw new MirrorError(`the source links to ${url}, which is not http or https`);
    }
    const response = await this.fetchImpl(url, {
      headers: this.headers(url),
      redirect: 'error',
      ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
    });
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new MirrorError(
        `the source answered ${response.status} to ${url}: ${
          this.mirror.token === undefined
            ? 'it is private; give the mirror a token (--mirror-token)'
            : 'the mirror token does not read it'
        }`,
      );
    }
    return response;
  }

  async json<T extends z.ZodType>(url: string, schema: T): Promise<z.infer<T>> {
    const response = await this.get(url, DOCUMENT_TIMEOUT_MS);
    if (!response.ok) {
      await response.body?.cancel();
      throw new MirrorError(`the source answered ${response.status} to ${url}`);
    }
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new MirrorError(`${url} is not the document a symfeed catalog serves there`);
    }
    return parsed.data;
  }
}

const serviceIndexSchema = z.object({
  resources: z.array(z.object({ '@id': z.string(), '@type': z.string() })),
});

async function resource(source: MirrorSource, indexUrl: string, type: string): Promise<string> {
  const index = await source.json(indexUrl, serviceIndexSchema);
  const found = index.resources.find((entry) => entry['@type'] === type);
  if (!found) throw new MirrorError(`the service index ${indexUrl} advertises no ${type}`);
  return found['@id'];
}

/** The feed URL form symfeed serves its service index under. */
const SYMFEED_INDEX = /\/F\/[^/,]+\/api\/v3\/index\.json$/;

/**
 * The catalog from the source's service index. Its leaves link to the package content as
 * uploaded (`symfeed:packageContent`), which the catalog's readers may download: a public
 * source needs no token, a private one a read token.
 */
export async function sourceCatalog(source: MirrorSource): Promise<string> {
  const url = source.mirror.url;
  if (!SYMFEED_INDEX.test(url)) {
    throw new MirrorError(
      `${url} is not a symfeed feed's service index (.../F/{feed}/api/v3/index.json)`,
    );
  }
  return resource(source, url, 'Catalog/3.0.0');
}
