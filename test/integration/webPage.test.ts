import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Browser, Page } from 'playwright-core';
import { createFeed } from '../../shared/feeds/feedTable';
import { createToken } from '../../shared/feeds/tokens';
import { packageUidFor } from '../../shared/packages/packageUid';
import { launchChromium } from '../support/browser';
import { startStack, Stack } from '../support/stack';
import { makeZip, symbolIndex } from '../support/zips';

// Needs `npm run build` first (the page's assets are built into dist/web) and Chromium
// (test/support/browser.ts). The private feed's name, package id and key are chosen so that any
// of them showing anywhere is found by a plain search of the text.
const SECRET_FEED = 'hushfeed';
const SECRET_ID = 'Hush.Internal';
const SECRET_KEY = 'hushlib.pdb/0123456789abcdef0123456789abcdef1/hushlib.pdb';
const PUBLIC_KEY = 'openlib.pdb/fedcba9876543210fedcba98765432101/openlib.pdb';
const ADMIN_TOKEN = `sf_${'a'.repeat(43)}`;

let stack: Stack;
let browser: Browser;
let page: Page;
let readToken: string;
let otherToken: string;

function symbolPackage(key: string, file: string): Promise<Buffer> {
  return makeZip([
    { name: file, data: `the bytes of ${file}` },
    { name: 'symbol_index.json', data: symbolIndex([{ clientKey: key, blobPath: file }]) },
  ]);
}

beforeAll(async () => {
  stack = await startStack({ SYMFEED_ADMIN_TOKEN: ADMIN_TOKEN });
  const { feedsTable, tokensTable } = stack.rt.storage;
  await createFeed(feedsTable, { name: SECRET_FEED, visibility: 'private' });
  await createFeed(feedsTable, { name: 'elsewhere', visibility: 'private' });
  ({ token: readToken } = await createToken(tokensTable, { feed: SECRET_FEED, scopes: ['read'] }));
  ({ token: otherToken } = await createToken(tokensTable, { feed: 'elsewhere', scopes: ['read'] }));
  await stack.upload('Open.Lib.1.2.0.zip', await symbolPackage(PUBLIC_KEY, 'openlib.pdb'));
  await stack.upload(
    `${SECRET_ID}.3.0.0.zip`,
    await symbolPackage(SECRET_KEY, 'hushlib.pdb'),
    SECRET_FEED,
  );
  await stack.indexed('Open.Lib.1.2.0.zip');
  // Offers the same key, indexed later: it does not win.
  await stack.upload('Open.Lib.1.2.0-again.zip', await symbolPackage(PUBLIC_KEY, 'openlib.pdb'));
  await stack.indexed('Open.Lib.1.2.0-again.zip');
  await stack.indexed(`${SECRET_ID}.3.0.0.zip`, SECRET_FEED);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});
beforeEach(async () => {
  page = await browser.newPage();
});
afterEach(async () => {
  await page.close();
});

async function signIn(token: string): Promise<void> {
  await page.getByLabel('Feed token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(/Signed in to/).waitFor();
}

describe('serving the page', () => {
  it('answers "/" with index.html, checked at every load, and its assets as immutable', async () => {
    const index = await fetch(`${stack.host.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const assets = [...html.matchAll(/\/assets\/(main-[A-Z0-9]+\.(?:js|css))/g)].map((m) => m[1]);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const answer = await fetch(`${stack.host.url}/assets/${asset}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${stack.host.url}/assets/main-NOSUCH.js`)).status).toBe(404);
    expect((await fetch(`${stack.host.url}/assets/..%2Fhost.json`)).status).toBe(404);
  });
});

describe('browsing', () => {
  it('lists the public feed with its counts, URLs and debugger lines', async () => {
    await page.goto(`${stack.host.url}/`);
    const card = page.locator('.card', { has: page.getByRole('link', { name: 'default' }) });
    await card.getByText('2 packages, 2 keys').waitFor();
    await card.getByText('URLs and debugger settings').click();
    await card.getByText(`.sympath srv*C:\\symbols*${stack.host.url}/F/default/symbols`).waitFor();
    await card.getByText(`DEBUGINFOD_URLS=${stack.host.url}/F/default`).waitFor();
    await card.getByRole('button', { name: 'Copy Symbol server (SSQP)' }).waitFor();
  });

  it('finds a package by id and shows its status document in words', async () => {
    await page.goto(`${stack.host.url}/#/feeds/default`);
    await page.getByLabel('Id starts with').fill('Open');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'Open.Lib', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Open.Lib 1.2.0' }).waitFor();
    await page.getByText('explicit (named in symbol_index.json)').waitFor();
    await page.getByText(PUBLIC_KEY).waitFor();
    await page.locator('.history').getByText('succeeded').waitFor();
  });

  it('signs in to a private feed with its token and shows it', async () => {
    await page.goto(`${stack.host.url}/`);
    await signIn(readToken);
    await page.getByRole('link', { name: SECRET_FEED }).click();
    await page.getByRole('link', { name: SECRET_ID }).click();
    await page.getByText(SECRET_KEY).waitFor();
    expect(await page.evaluate(() => location.href)).not.toContain(readToken);
  });
});

describe('why is my symbol missing?', () => {
  async function lookUp(text: string): Promise<void> {
    await page.goto(`${stack.host.url}/#/feeds/default`);
    await page.getByLabel(/Key, SSQP URL, file name/).fill(text);
    await page.getByRole('button', { name: 'Look up' }).click();
  }

  it('shows every package offering a served key, the one served and why', async () => {
    await lookUp(`${stack.symbols}/${PUBLIC_KEY}`);
    await page.getByText(/Served from Open.Lib 1.2.0 \(explicit key/).waitFor();
    await page.getByText('the one first indexed earliest wins').waitFor();
    const offers = page.getByRole('table', { name: 'Packages offering the key, best first' });
    expect(await offers.locator('tbody tr').count()).toBe(2);
  });

  it('shows, for a missing key, the same file under another index and the upstreams', async () => {
    await lookUp(`openlib.pdb {FEDCBA98-7654-3210-FEDC-BA9876543210} 2`);
    await page.getByText('No package in this feed offers this key.').waitFor();
    await page.getByText('The same file name under other keys').waitFor();
    await page.locator('.nearest').getByText(PUBLIC_KEY).first().waitFor();
    await page.getByText('None: this feed asks no other server.').waitFor();
  });

  it('says why an input names no key', async () => {
    await lookUp('fedcba9876543210fedcba98765432102');
    await page
      .getByRole('alert')
      .getByText(/put the file name before it/)
      .waitFor();
  });
});

describe('missing symbols', () => {
  const missed = 'rebuilt.pdb/00112233445566778899aabbccddeeff1/rebuilt.pdb';

  it('lists a key asked for in vain, leaving the SymSrv probes out, and downloads as CSV', async () => {
    for (const key of [
      missed,
      missed,
      'rebuilt.pd_/00112233445566778899aabbccddeeff1/rebuilt.pd_',
    ]) {
      expect((await fetch(`${stack.symbols}/${key}`)).status).toBe(404);
    }
    const secretMiss = `${stack.host.url}/F/${SECRET_FEED}/symbols/${SECRET_KEY.replace('hushlib', 'hushmore')}`;
    const asked = await fetch(secretMiss, { headers: { Authorization: `Bearer ${readToken}` } });
    expect(asked.status).toBe(404);
    await stack.rt.misses.flush();
    await page.goto(`${stack.host.url}/#/feeds/default`);
    const day = page.getByRole('table', { name: 'Last 24 hours' });
    const row = day.getByRole('row', { name: new RegExp(missed) });
    await row.waitFor();
    expect(await row.getByRole('cell').nth(1).innerText()).toBe('2');
    expect(await day.innerText()).not.toContain('.pd_');
    const csv = await (
      await fetch(`${stack.host.url}/ui/api/feeds/default/missing?format=csv`)
    ).text();
    expect(csv).toMatch(new RegExp(`^period,key,count,lastSeen\r\n24h,${missed},2,`));
    expect(csv).not.toContain('hushmore');
  });
});

describe('administration', () => {
  async function signInAsAdmin(): Promise<void> {
    await page.goto(`${stack.host.url}/#/admin`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in as admin' }).click();
    await page.getByRole('heading', { name: 'All feeds' }).waitFor();
  }

  it('creates a feed and a token, shown once, and shows a retention dry run', async () => {
    await signInAsAdmin();
    await page.getByLabel('Feed name').fill('made-here');
    await page.getByRole('button', { name: 'Create feed' }).click();
    await page.getByText('Feed made-here is ready.').waitFor();
    await page.getByRole('link', { name: 'made-here' }).waitFor();
    await page.getByRole('combobox', { name: /^Feed/ }).selectOption('made-here');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText(/shown only now/).waitFor();
    const token = await page.locator('.copyable code').innerText();
    const who = await fetch(`${stack.host.url}/ui/api/whoami`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(await who.json()).toMatchObject({ feed: 'made-here', scopes: ['read'] });
    await page.getByRole('button', { name: 'Retention dry run of default' }).click();
    await page.getByText('Retention would delete nothing now.').waitFor();
  });

  it('deletes a package after the admin confirms', async () => {
    await stack.upload(
      'Doomed.Lib.1.0.0.zip',
      await symbolPackage('doomed.pdb/1/doomed.pdb', 'doomed.pdb'),
    );
    await stack.indexed('Doomed.Lib.1.0.0.zip');
    await signInAsAdmin();
    await page.goto(
      `${stack.host.url}/#/feeds/default/packages/${packageUidFor('default', 'Doomed.Lib.1.0.0.zip')}`,
    );
    await page.getByRole('button', { name: 'Delete this package' }).click();
    await page.getByRole('button', { name: 'Yes, delete Doomed.Lib 1.0.0' }).click();
    await page.getByText('The delete of Doomed.Lib 1.0.0 is queued').waitFor();
    expect((await fetch(`${stack.symbols}/doomed.pdb/1/doomed.pdb`)).status).toBe(404);
  });
});

describe('on a narrow screen, and as screenshots', () => {
  // `npm run screenshots` writes them into docs/screenshots; otherwise into a folder of its own.
  const folder =
    process.env.SYMFEED_SCREENSHOTS ?? mkdtempSync(path.join(tmpdir(), 'symfeed-shots-'));
  const uid = packageUidFor('default', 'Open.Lib.1.2.0.zip');
  const views: [string, string, string][] = [
    ['feeds', '#/', 'Feeds'],
    ['feed', '#/feeds/default', 'Feed default'],
    ['package', `#/feeds/default/packages/${uid}`, 'Open.Lib 1.2.0'],
  ];

  it.each([
    ['wide', 1280],
    ['narrow', 360],
  ])('every view fits a %s screen (%i px) without scrolling sideways', async (name, width) => {
    await page.setViewportSize({ width, height: 900 });
    for (const [view, hash, heading] of views) {
      await page.goto(`${stack.host.url}/${hash}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect({ view, overflow }).toEqual({ view, overflow: 0 });
      await page.screenshot({ path: path.join(folder, `${view}-${name}.png`), fullPage: true });
    }
    await page.goto(`${stack.host.url}/#/feeds/default`);
    await page
      .getByLabel(/Key, SSQP URL, file name/)
      .fill(`openlib.pdb fedcba9876543210fedcba98765432102`);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('The same file name under other keys').waitFor();
    await page.locator('section', { has: page.locator('#lookup-heading') }).screenshot({
      path: path.join(folder, `lookup-${name}.png`),
    });
  });

  it('is usable from the keyboard: the skip link, and signing in', async () => {
    await page.goto(`${stack.host.url}/`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.getByLabel('Feed token').focus();
    await page.keyboard.type(readToken);
    await page.keyboard.press('Enter');
    await page.getByText(/Signed in to/).waitFor();
  });
});

describe("a private feed's names, packages and keys", () => {
  const uid = packageUidFor(SECRET_FEED, `${SECRET_ID}.3.0.0.zip`);
  const secrets = [SECRET_FEED, SECRET_ID, SECRET_KEY, uid];

  it('appear in no view and no JSON answer without its token', async () => {
    for (const token of [undefined, otherToken]) {
      const seen: string[] = [];
      // The page's own requests name the feed of the address it was given; their answers may not.
      page.on('response', async (response) => {
        if (response.url().includes('/ui/api/')) seen.push(await response.text().catch(() => ''));
      });
      await page.goto(`${stack.host.url}/`);
      if (token) await signIn(token);
      for (const view of [
        '#/',
        `#/feeds/${SECRET_FEED}`,
        `#/feeds/${SECRET_FEED}/packages/${uid}`,
      ]) {
        await page.goto(`${stack.host.url}/${view}`);
        await page.waitForLoadState('networkidle');
        await page.getByRole('heading', { level: 1 }).waitFor();
        seen.push(await page.locator('body').innerText());
      }
      const shown = seen.join('\n');
      expect(shown).toContain('no such feed that you may read');
      for (const secret of secrets) expect(shown).not.toContain(secret);
      await page.close();
      page = await browser.newPage();
    }
  });

  it('are answered 404 by every JSON call, as for a feed that does not exist', async () => {
    const calls = [
      `/ui/api/feeds/${SECRET_FEED}`,
      `/ui/api/feeds/${SECRET_FEED}/packages`,
      `/ui/api/feeds/${SECRET_FEED}/packages/${uid}`,
      `/ui/api/feeds/${SECRET_FEED}/lookup?q=${encodeURIComponent(SECRET_KEY)}`,
      `/ui/api/feeds/${SECRET_FEED}/lookup?q=hushlib.pdb`,
      `/ui/api/feeds/${SECRET_FEED}/missing`,
      `/ui/api/feeds/${SECRET_FEED}/missing?format=csv`,
    ];
    for (const path of calls) {
      for (const headers of [{}, { Authorization: `Bearer ${otherToken}` }] as Record<
        string,
        string
      >[]) {
        const answer = await fetch(`${stack.host.url}${path}`, { headers });
        expect(answer.status).toBe(404);
        const body = await answer.text();
        for (const secret of [SECRET_ID, SECRET_KEY, 'hushmore'])
          expect(body).not.toContain(secret);
      }
      const nowhere = await fetch(`${stack.host.url}${path.replace(SECRET_FEED, 'nosuchfeed')}`);
      expect(nowhere.status).toBe(404);
    }
    const feeds = await (await fetch(`${stack.host.url}/ui/api/feeds`)).text();
    expect(feeds).not.toContain(SECRET_FEED);
    const opened = await fetch(`${stack.host.url}/ui/api/feeds`, {
      headers: { Authorization: `Bearer ${readToken}` },
    });
    expect(await opened.text()).toContain(SECRET_FEED);
  });
});

describe('the JSON API', () => {
  it('explains an aggregate: every member offering the key, and member order deciding', async () => {
    const { feedsTable } = stack.rt.storage;
    await createFeed(feedsTable, { name: 'second', visibility: 'public' });
    await createFeed(feedsTable, {
      name: 'both',
      visibility: 'public',
      members: ['second', 'default'],
    });
    await stack.upload(
      'Second.Lib.1.0.0.zip',
      await symbolPackage(PUBLIC_KEY, 'openlib.pdb'),
      'second',
    );
    await stack.indexed('Second.Lib.1.0.0.zip', 'second');
    const answer = (await (
      await fetch(`${stack.host.url}/ui/api/feeds/both/lookup?q=${encodeURIComponent(PUBLIC_KEY)}`)
    ).json()) as { offers: { feed: string }[]; serving: { feed: string; id: string }; why: string };
    expect(answer.offers.map(({ feed }) => feed)).toEqual(['second', 'default', 'default']);
    expect(answer.serving).toMatchObject({ feed: 'second', id: 'Second.Lib' });
    expect(answer.why).toContain('the aggregate asks its members in order, and second comes first');
  });

  it('filters packages by state and refuses a next token it did not give and unknown parameters', async () => {
    const first = await fetch(`${stack.host.url}/ui/api/feeds/default/packages?state=succeeded`);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { packages: unknown[] }).packages).toHaveLength(2);
    const bad = await fetch(`${stack.host.url}/ui/api/feeds/default/packages?next=notatoken`);
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${stack.host.url}/ui/api/feeds/default/packages?colour=red`);
    expect(unknown.status).toBe(400);
  });
});
