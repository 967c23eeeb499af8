import { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { startStack, Stack } from '../support/stack';

// Needs `npm run build` first (the page's assets are built into dist/web) and Chromium
// (test/support/browser.ts).
let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack();
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

  it('shows the page in a browser', async () => {
    await page.goto(`${stack.host.url}/`);
    await page.getByRole('heading', { name: 'Feeds' }).waitFor();
  });
});
