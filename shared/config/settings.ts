import { isIP } from 'node:net';
import { z } from 'zod';
import { tokenSchema } from '../feeds/tokens';
import { isBaseUrl } from '../util/baseUrl';
import {
  accountEndpoints,
  azuriteConnection,
  CredentialChoice,
  StorageConnection,
  StorageEndpoints,
} from '../storage/connection';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) =>
  z.coerce.number().int().nonnegative().default(fallback);

const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/** An IP address, or a DNS host name (letters, digits and hyphens between dots). */
function isListenAddress(text: string): boolean {
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  return isIP(text) !== 0 || new RegExp(`^(?=.{1,253}$)${label}(?:\\.${label})*$`).test(text);
}

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

const STORAGE = 'AzureWebJobsStorage';
type Service = keyof StorageEndpoints;
const serviceUriSetting = (service: Service) => `${STORAGE}__${service}ServiceUri` as const;

/**
 * What a connection string must hold for the storage SDKs: Azurite's shorthand, or an account
 * key or a SAS with the account or the endpoints they apply to. Keys compare as the SDKs compare
 * them, without regard to case.
 */
function isConnectionString(text: string): boolean {
  const pairs = new Map(
    text
      .split(';')
      .filter((part) => part.includes('='))
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim()] as const;
      }),
  );
  if (pairs.get('usedevelopmentstorage')?.toLowerCase() === 'true') return true;
  if (pairs.get('accountkey')) return Boolean(pairs.get('accountname'));
  return Boolean(pairs.get('sharedaccesssignature')) && (pairs.get('blobendpoint') ?? '') !== '';
}

const optionalText = (schema: z.ZodType<string>) => z.preprocess(unsetIfEmpty, schema.optional());
const serviceUri = optionalText(
  z
    .string()
    .refine(isBaseUrl, 'must be the service URL, such as https://myaccount.blob.core.windows.net')
    .transform((url) => url.replace(/\/+$/, '')),
);

/**
 * AzureWebJobsStorage in either form the Functions host accepts: a connection string, or the
 * identity-based settings under `AzureWebJobsStorage__`. Each is checked here on its own; how they
 * combine, in storageConnectionOf.
 */
const storageSettingsSchema = z.object({
  [STORAGE]: optionalText(
    z
      .string()
      .refine(
        isConnectionString,
        'must be a storage connection string: AccountName=...;AccountKey=...;..., a SAS connection string, or UseDevelopmentStorage=true',
      ),
  ),
  [`${STORAGE}__accountName`]: optionalText(
    z
      .string()
      .regex(
        /^[a-z0-9]{3,24}$/,
        'must be a storage account name, 3 to 24 lower-case letters and digits',
      ),
  ),
  [serviceUriSetting('blob')]: serviceUri,
  [serviceUriSetting('queue')]: serviceUri,
  [serviceUriSetting('table')]: serviceUri,
  [`${STORAGE}__credential`]: optionalText(
    z
      .string()
      .transform((text) => text.toLowerCase())
      .refine(
        (text) => text === 'managedidentity',
        'must be managedidentity, or unset for DefaultAzureCredential',
      ),
  ),
  [`${STORAGE}__clientId`]: optionalText(
    z
      .string()
      .regex(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
        'must be the client id (a GUID) of a user-assigned managed identity',
      ),
  ),
  [`${STORAGE}__managedIdentityResourceId`]: optionalText(
    z
      .string()
      .regex(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i,
        'must be the resource id of a user-assigned managed identity, /subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME',
      ),
  ),
});
type StorageSettings = z.infer<typeof storageSettingsSchema>;
const IDENTITY_SETTINGS = Object.keys(storageSettingsSchema.shape).filter((name) =>
  name.startsWith(`${STORAGE}__`),
) as Exclude<keyof StorageSettings, typeof STORAGE>[];

/** What is wrong with one setting: `setting ${setting} ${text}`. */
interface Problem {
  readonly setting: string;
  readonly text: string;
}

type Found = { storage?: StorageConnection; problems: readonly Problem[] };

/**
 * The storage connection the settings describe (none when no storage setting is set at all), or
 * the problems with how they combine: a connection string beside identity settings, a service
 * with neither its URI nor the account name, a user-assigned identity without
 * `__credential=managedidentity`, or named twice.
 */
function storageConnectionOf(values: StorageSettings): Found {
  const identity = IDENTITY_SETTINGS.filter((name) => values[name] !== undefined);
  const connectionString = values[STORAGE];
  if (connectionString !== undefined) {
    const problems = identity.map((setting) => ({
      setting,
      text: `conflicts with ${STORAGE}, which holds a connection string: set one form, not both`,
    }));
    return problems.length > 0
      ? { problems }
      : { storage: { kind: 'connectionString', connectionString }, problems };
  }
  if (identity.length === 0) return { problems: [] };
  const problems: Problem[] = [];
  const accountName = values[`${STORAGE}__accountName`];
  const derived = accountName === undefined ? undefined : accountEndpoints(accountName);
  const endpoint = (service: Service) => {
    const found = values[serviceUriSetting(service)] ?? derived?.[service];
    if (found === undefined) {
      problems.push({
        setting: serviceUriSetting(service),
        text: `is not set (identity-based storage needs ${STORAGE}__accountName or the URI of each service)`,
      });
    }
    return found ?? '';
  };
  const endpoints: StorageEndpoints = {
    blob: endpoint('blob'),
    queue: endpoint('queue'),
    table: endpoint('table'),
  };
  const managed = values[`${STORAGE}__credential`] === 'managedidentity';
  const clientId = values[`${STORAGE}__clientId`];
  const resourceId = values[`${STORAGE}__managedIdentityResourceId`];
  for (const [setting, given] of [
    [`${STORAGE}__clientId`, clientId],
    [`${STORAGE}__managedIdentityResourceId`, resourceId],
  ] as const) {
    if (given !== undefined && !managed) {
      problems.push({
        setting,
        text: `needs ${STORAGE}__credential=managedidentity (it names a user-assigned identity)`,
      });
    }
  }
  if (clientId !== undefined && resourceId !== undefined) {
    problems.push({
      setting: `${STORAGE}__managedIdentityResourceId`,
      text: `conflicts with ${STORAGE}__clientId: name the user-assigned identity one way`,
    });
  }
  if (problems.length > 0) return { problems };
  const credential: CredentialChoice = managed
    ? { kind: 'managedIdentity', clientId, resourceId }
    : { kind: 'default' };
  return { storage: { kind: 'identity', endpoints, credential }, problems };
}

/** True when any storage setting is set: `npm start` then runs no Azurite of its own. */
export function storageConfigured(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(storageSettingsSchema.shape).some((name) => Boolean(env[name]));
}

const NO_STORAGE: Problem = {
  setting: STORAGE,
  text: `is not set (a connection string; or, to connect with an identity, ${STORAGE}__accountName or ${STORAGE}__blobServiceUri, __queueServiceUri and __tableServiceUri)`,
};

/**
 * Every setting symfeed reads but the storage account's (storageSettingsSchema), with its default.
 * The same names appear in local.settings.example.json; keep both lists in step.
 */
const settingsSchema = z.object({
  SYMFEED_MAX_ENTRIES: positiveInt(100_000),
  SYMFEED_MAX_ENTRY_BYTES: positiveInt(8 * 1024 ** 3),
  SYMFEED_MAX_COMPRESSION_RATIO: positiveInt(1_000),
  SYMFEED_MAX_INDEX_BYTES: positiveInt(64 * 1024 ** 2),
  SYMFEED_READ_CHUNK_BYTES: positiveInt(256 * 1024),
  /**
   * Files whose size and compressed size are both within this are stored in their key rows at
   * index time, so that serving them is one table read (0: none). A table property holds 64 KiB.
   */
  SYMFEED_INLINE_FILE_BYTES: z.coerce
    .number()
    .int()
    .nonnegative()
    .max(64 * 1024, 'must be at most 65536: a table property holds 64 KiB')
    .default(16 * 1024),
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
  /** How long a key no upstream has is not asked of them again (0: always asked). */
  SYMFEED_UPSTREAM_MISS_SECONDS: nonNegativeInt(600),
  /**
   * What one upstream may cost a request: the wait for its answer, and any pause in its body.
   * A slow upstream is given up after it and the next one asked.
   */
  SYMFEED_UPSTREAM_TIMEOUT_MS: positiveInt(10_000),
  /**
   * The largest file fetched from an upstream. Below 4 GiB: the package holding it is a plain zip
   * (no Zip64).
   */
  SYMFEED_UPSTREAM_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(4 * 1024 ** 3 - 1024 ** 2, 'must be below 4 GiB (4293918720 at most)')
    .default(1024 ** 3),
  /** Served files up to this size stay in memory once read (0: none)... */
  SYMFEED_HOT_FILE_BYTES: nonNegativeInt(8 * 1024 ** 2),
  /** ...up to this many bytes in all. */
  SYMFEED_HOT_CACHE_BYTES: nonNegativeInt(256 * 1024 ** 2),
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
  /**
   * `npm start` only: the address the local host listens on. 127.0.0.1, this machine alone, unless
   * told otherwise (0.0.0.0 or :: for every address).
   */
  HOST: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .refine(
        isListenAddress,
        'must be an IP address or host name of this machine: 127.0.0.1 (this machine only) or 0.0.0.0 (every address)',
      )
      .default('127.0.0.1'),
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

/** The name of every setting symfeed reads, for checks that a deployment sets only these. */
export const SETTING_NAMES: readonly string[] = [
  ...Object.keys(storageSettingsSchema.shape),
  ...Object.keys(settingsSchema.shape),
];

export type Settings = z.infer<typeof settingsSchema> & {
  readonly storage: StorageConnection;
  readonly SYMFEED_METRICS_ENDPOINT: 'on' | 'off';
};

export class SettingsError extends Error {
  /** One line per setting: `setting NAME is not set`, `setting NAME is invalid (why)`, ... */
  constructor(readonly problems: readonly string[]) {
    super(`symfeed cannot start: ${problems.join('; ')}`);
    this.name = 'SettingsError';
  }
}

/** The platform sets these on every App Service and Functions instance; `npm start` does not. */
const AZURE_MARKERS = ['WEBSITE_INSTANCE_ID', 'WEBSITE_SITE_NAME'];

function problemsOf(error: z.ZodError | undefined, env: NodeJS.ProcessEnv): Problem[] {
  return (error?.issues ?? []).map((issue) => {
    const setting = issue.path.join('.');
    const given = env[setting];
    return { setting, text: given ? `is invalid (${issue.message})` : 'is not set' };
  });
}

function fail(problems: readonly Problem[]): never {
  throw new SettingsError(problems.map(({ setting, text }) => `setting ${setting} ${text}`));
}

function storageOf(env: NodeJS.ProcessEnv): Found {
  const values = storageSettingsSchema.safeParse(env);
  return values.success
    ? storageConnectionOf(values.data)
    : { problems: problemsOf(values.error, env) };
}

export interface ParseOptions {
  /** `npm start`: with no storage setting at all, the Azurite of SYMFEED_AZURITE_PORTS. */
  readonly azuriteWhenUnset?: boolean;
}

/** Validates the environment once; the message names every setting that is missing or wrong. */
export function parseSettings(env: NodeJS.ProcessEnv, options: ParseOptions = {}): Settings {
  const result = settingsSchema.safeParse(env);
  const found = storageOf(env);
  const problems = [...found.problems, ...problemsOf(result.error, env)];
  const unset = found.storage === undefined && found.problems.length === 0;
  if (unset && !options.azuriteWhenUnset) problems.unshift(NO_STORAGE);
  const onAzure = AZURE_MARKERS.some((name) => env[name]);
  if (onAzure && !env.SYMFEED_PUBLIC_URL) {
    problems.push({
      setting: 'SYMFEED_PUBLIC_URL',
      text: 'is not set (in Azure, links are built from it, never from the Host header a caller sends)',
    });
  }
  if (!result.success || problems.length > 0) fail(problems);
  const storage = found.storage ?? azuriteConnection(result.data.SYMFEED_AZURITE_PORTS);
  const metrics = result.data.SYMFEED_METRICS_ENDPOINT ?? (onAzure ? 'off' : 'on');
  return { ...result.data, storage, SYMFEED_METRICS_ENDPOINT: metrics };
}

const azuritePortsSetting = z.object({ SYMFEED_AZURITE_PORTS: azuritePortsSchema });

/**
 * The storage account alone, for the symfeed command: the one configured, else the Azurite of
 * `npm start` (by SYMFEED_AZURITE_PORTS).
 */
export function parseStorageSettings(env: NodeJS.ProcessEnv): StorageConnection {
  const found = storageOf(env);
  if (found.problems.length > 0) fail(found.problems);
  if (found.storage) return found.storage;
  const ports = azuritePortsSetting.safeParse(env);
  if (!ports.success) fail(problemsOf(ports.error, env));
  return azuriteConnection(ports.data.SYMFEED_AZURITE_PORTS);
}

let cached: Settings | undefined;

export function settings(): Settings {
  cached ??= parseSettings(process.env);
  return cached;
}
