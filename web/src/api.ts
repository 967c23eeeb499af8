/**
 * The page's calls to its own origin. Tokens live in this tab's session storage and go only in
 * an Authorization header, never in a URL.
 */
const FEED_TOKEN = 'symfeed.feedToken';
const ADMIN_TOKEN = 'symfeed.adminToken';

export const session = {
  feedToken: () => sessionStorage.getItem(FEED_TOKEN),
  adminToken: () => sessionStorage.getItem(ADMIN_TOKEN),
  setFeedToken: (token: string | null) =>
    token ? sessionStorage.setItem(FEED_TOKEN, token) : sessionStorage.removeItem(FEED_TOKEN),
  setAdminToken: (token: string | null) =>
    token ? sessionStorage.setItem(ADMIN_TOKEN, token) : sessionStorage.removeItem(ADMIN_TOKEN),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  /** Sends the admin token instead of the feed token (the /manage API). */
  readonly admin?: boolean;
  readonly method?: string;
  readonly body?: unknown;
}

export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const token = options.admin ? session.adminToken() : session.feedToken();
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers: {
      Accept: 'application/json',
      ...(token && { Authorization: `Bearer ${token}` }),
      ...(options.body !== undefined && { 'Content-Type': 'application/json' }),
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  if (response.status === 204) return undefined as T;
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) {
    throw new ApiError(response.status, body.error ?? `the server answered ${response.status}`);
  }
  return body as T;
}

/** Saves what a call answers as a file: a link cannot carry the token's header. */
export async function download(path: string, filename: string): Promise<void> {
  const token = session.feedToken();
  const response = await fetch(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw new ApiError(response.status, `the server answered ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A path segment, encoded. */
export const seg = (text: string) => encodeURIComponent(text);

export const query = (params: Record<string, string | undefined>) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : '';
};
