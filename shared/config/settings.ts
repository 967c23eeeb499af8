import { z } from 'zod';
import { tokenSchema } from '../feeds/tokens';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) =>
  z.coerce.number().int().nonnegative().default(fallback);

/** An absolute http(s) URL, perhaps with a path, and nothing a base cannot carry. */
function isBaseUrl(text: string): boolean {
  if (!URL.canParse(text) || /[?#]/.test(text)) return false;
  const url = new URL(text);
  return ['http:', 'https:'].includes(url.protocol) && !url.username && !url.password;
}

const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/** The ports of the Azurite `npm start` runs, "blob,queue,table". */
export const azuritePortsSchema = z.preprocess(
  (value) => unsetIfEmpty(value) ?? '10000,10001,10002',
  z
    .string()
    .regex(/^\d{1,5},\d{1,5},\d{1,5}$/, 'must be three ports, blob,queue,table: 10000,10001,10002')
    .transform((text) => {
      const [blob = 0, queue = 0, table = 0] = text.split(',').map(Number);
      return { blob, queue, table };
    })
    .refine(
      ({ blob, queue, table }) =>
        new Set([blob, queue, table]).size === 3 &&
        [blob, queue, table].every((port) => port >= 1 && port <= 65535),
      'must be three different ports from 1 to 65535',
    ),
);

/**
 * Every setting symfeed reads, with its default. The same names appear in
 * local.settings.example.json; keep both lists in step.
 */
export const settingsSchema = z.object({
  AzureWebJobsStorage: z.string().min(1, 'must be a storage connection string'),
  SYMFEED_MAX_ENTRIES: positiveInt(100_000),
  SYMFEED_MAX_ENTRY_BYTES: positiveInt(8 * 1024 ** 3),
  SYMFEED_MAX_COMPRESSION_RATIO: positiveInt(1_000),
  SYMFEED_MAX_INDEX_BYTES: positiveInt(64 * 1024 ** 2),
  SYMFEED_READ_CHUNK_BYTES: positiveInt(256 * 1024),
  SYMFEED_LOCATION_CACHE_SECONDS: nonNegativeInt(30),
  SYMFEED_MISS_CACHE_SECONDS: nonNegativeInt(2),
  /**
   * Files of public feeds: how long a cache may serve them without asking again. 0 (the default)
   * sends `public, no-cache`: caches revalidate on every use (a 304 by ETag), so a feed made
   * private stops being served from them at once.
   */
  SYMFEED_PUBLIC_MAX_AGE_SECONDS: nonNegativeInt(0),
  /** Files of private feeds, to their callers' own caches only; 0 (the default): `private, no-cache`. */
  SYMFEED_PRIVATE_MAX_AGE_SECONDS: nonNegativeInt(0),
  SYMFEED_MAX_PUSH_BYTES: positiveInt(512 * 1024 ** 2),
  /** Served files up to this size stay in memory once read (0: none)... */
  SYMFEED_HOT_FILE_BYTES: nonNegativeInt(64 * 1024),
  /** ...up to this many bytes in all. */
  SYMFEED_HOT_CACHE_BYTES: nonNegativeInt(64 * 1024 ** 2),
  /**
   * Where clients reach symfeed (`https://symbols.example.com`, with a path if a proxy adds one):
   * NuGet documents link there. Unset, links follow the request's Host header, which any caller
   * can forge; parseSettings allows that only outside Azure.
   */
  SYMFEED_PUBLIC_URL: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .refine(
        isBaseUrl,
        'must be an absolute http or https URL such as https://symbols.example.com',
      )
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
  ),
  /** `npm start` only: the local host's port. */
  PORT: z.preprocess(
    unsetIfEmpty,
    z.coerce.number().int().min(0).max(65535, 'must be a port number, 0 to 65535').default(7071),
  ),
  /** `npm start` only, without AzureWebJobsStorage: the ports of the Azurite it runs. */
  SYMFEED_AZURITE_PORTS: azuritePortsSchema,
  /** `npm start` only, without AzureWebJobsStorage: the folder of its Azurite's data. */
  SYMFEED_AZURITE_LOCATION: z.preprocess(unsetIfEmpty, z.string().default('.azurite')),
  /** `npm start` only: the push token it keeps for the feed `default`; unset, it makes one. */
  SYMFEED_DEFAULT_TOKEN: z.preprocess(unsetIfEmpty, tokenSchema.optional()),
  /** Authorises the /admin API; unset, the API is off. At least 32 characters: it is a secret. */
  SYMFEED_ADMIN_TOKEN: z.preprocess(
    unsetIfEmpty,
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  /**
   * GET /metrics, `on` or `off`. Unset: on outside Azure, off on Azure, where Azure Monitor has
   * the metrics and the endpoint, which answers anyone, would name every feed.
   */
  SYMFEED_METRICS_ENDPOINT: z.preprocess(
    unsetIfEmpty,
    z.enum(['on', 'off'], 'must be on or off').optional(),
  ),
});

export type Settings = z.infer<typeof settingsSchema> & {
  readonly SYMFEED_METRICS_ENDPOINT: 'on' | 'off';
};

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** The platform sets these on every App Service and Functions instance; `npm start` does not. */
const AZURE_MARKERS = ['WEBSITE_INSTANCE_ID', 'WEBSITE_SITE_NAME'];

/** Validates the environment once; the message names every setting that is missing or wrong. */
export function parseSettings(env: NodeJS.ProcessEnv): Settings {
  const result = settingsSchema.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const given = env[name];
        const why = given === undefined ? 'is not set' : `is invalid (${issue.message})`;
        return `setting ${name} ${why}`;
      });
  const onAzure = AZURE_MARKERS.some((name) => env[name]);
  if (onAzure && !env.SYMFEED_PUBLIC_URL) {
    problems.push(
      'setting SYMFEED_PUBLIC_URL is not set (in Azure, links are built from it, never from the Host header a caller sends)',
    );
  }
  if (result.success && problems.length === 0) {
    const metrics = result.data.SYMFEED_METRICS_ENDPOINT ?? (onAzure ? 'off' : 'on');
    return { ...result.data, SYMFEED_METRICS_ENDPOINT: metrics };
  }
  throw new SettingsError(`symfeed cannot start: ${problems.join('; ')}`);
}

let cached: Settings | undefined;

export function settings(): Settings {
  cached ??= parseSettings(process.env);
  return cached;
}
