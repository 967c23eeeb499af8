import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appRoot } from '../config/hostJson';

/** One answer of the page's: what `npm run build` wrote into dist/web, held in memory. */
export interface PageAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: Buffer | string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * index.html names the assets of its build, and may change at any deploy: it is checked every
 * time. An asset's name holds the hash of its bytes, so a name never names other bytes: cached
 * for a year, never asked again.
 */
const INDEX_CACHING = 'no-cache';
const ASSET_CACHING = 'public, max-age=31536000, immutable';

export interface PageAssets {
  readonly index: Buffer;
  readonly assets: ReadonlyMap<string, Buffer>;
}

/** The page as built in `folder` (index.html and assets/), or undefined when it is not built. */
export function readPageAssets(folder: string): PageAssets | undefined {
  const index = path.join(folder, 'index.html');
  if (!existsSync(index)) return undefined;
  const assetsFolder = path.join(folder, 'assets');
  const assets = new Map(
    readdirSync(assetsFolder)
      .filter((name) => TYPES[path.extname(name)] !== undefined)
      .map((name) => [name, readFileSync(path.join(assetsFolder, name))] as const),
  );
  return { index: readFileSync(index), assets };
}

let built: PageAssets | undefined;

/** The page this app was built with (dist/web), read once. */
export function builtPage(): PageAssets | undefined {
  built ??= readPageAssets(path.join(appRoot(), 'dist', 'web'));
  return built;
}

const notBuilt: PageAnswer = {
  status: 503,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
  body: 'The web page is not built: run `npm run build`.\n',
};

export function indexAnswer(page: PageAssets | undefined): PageAnswer {
  if (!page) return notBuilt;
  return {
    status: 200,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': INDEX_CACHING,
      // The page runs its own script only, and sends tokens only to its own origin.
      'Content-Security-Policy':
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    },
    body: page.index,
  };
}

/** An asset by its name in the build, looked up, never joined into a path. */
export function assetAnswer(page: PageAssets | undefined, name: string): PageAnswer {
  if (!page) return notBuilt;
  const body = page.assets.get(name);
  if (!body) {
    return {
      status: 404,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      body: 'No such asset.\n',
    };
  }
  return {
    status: 200,
    headers: {
      'Content-Type': TYPES[path.extname(name)] ?? 'application/octet-stream',
      'Cache-Control': ASSET_CACHING,
      'X-Content-Type-Options': 'nosniff',
    },
    body,
  };
}
