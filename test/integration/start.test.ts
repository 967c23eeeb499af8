import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AzuritePorts, RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort, portFree } from '../../local/ports';
import { createToken } from '../../shared/feeds/tokens';
import { createStorageClients, ensureStorage } from '../../shared/storage/clients';

/**
 * `npm start` runs dist/local/start.js (npm test builds it first). With AzureWebJobsStorage set it
 * uses that account instead of its own Azurite, which lets most of these tests run beside a
 * developer's `npm start` on the standard ports; the tests of its own Azurite move it to free
 * ports (SYMFEED_AZURITE_PORTS) and a temporary folder (SYMFEED_AZURITE_LOCATION).
 */
const ROOT = path.join(__dirname, '../..');
const script = path.join(ROOT, 'dist/local/start.js');
let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite({
    ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
  });
});
afterAll(() => azurite?.stop());

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function watch(child: ChildProcess): Run {
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/**
 * `node dist/local/start.js` on the test's Azurite, on another storage account, or (`null`) on
 * an Azurite of its own.
 */
function run(env: Record<string, string>, storage: string | null = azurite.connectionString): Run {
  return watch(
    spawn(process.execPath, [script], {
      env: {
        PATH: process.env.PATH ?? '',
        ...(storage === null ? {} : { AzureWebJobsStorage: storage }),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

async function until(condition: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await condition()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

const ready = (started: Run) => until(() => started.output().includes('Press Ctrl-C to stop.'));

/** Processes whose environment holds `marker`: what a run started, wherever it was reparented. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) {
        found.push(Number(entry));
      }
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return found;
}

interface OwnAzurite {
  readonly env: Record<string, string>;
  readonly ports: readonly number[];
  readonly azurite: AzuritePorts;
  readonly location: string;
  /** In the environment of every process the run starts. */
  readonly marker: string;
}

/**
 * Runs `test` with ports and a data folder for `npm start`'s own Azurite, so it never touches
 * the standard ones, and removes the folder after.
 */
async function withOwnAzurite(test: (own: OwnAzurite) => Promise<void>): Promise<void> {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const [port = 0, blob = 0, queue = 0, table = 0] = ports;
  const location = await mkdtemp(path.join(tmpdir(), 'symfeed-start-'));
  try {
    await test({
      env: {
        PORT: String(port),
        SYMFEED_AZURITE_PORTS: `${blob},${queue},${table}`,
        SYMFEED_AZURITE_LOCATION: location,
      },
      ports,
      azurite: { blob, queue, table },
      location,
      marker: `SYMFEED_AZURITE_LOCATION=${location}`,
    });
  } finally {
    await rm(location, { recursive: true, force: true });
  }
}

/** Nothing of a run is left: no process, no port held. */
async function expectNothingLeft(own: OwnAzurite): Promise<void> {
  expect(await until(() => processesWith(own.marker).length === 0, 15_000)).toBe(true);
  for (const port of own.ports) expect(await until(() => portFree(port), 5_000)).toBe(true);
}

it('starts, prints the URLs, serves, and stops cleanly on Ctrl-C', async () => {
  const port = await freePort();
  const { child, output, exit } = run({ PORT: String(port) });
  await ready({ child, output, exit });
  expect(output()).toContain(`http://127.0.0.1:${port}/F/default/symbols`);
  expect(output()).toContain('az storage blob upload');
  expect(output()).toContain(`DEBUGINFOD_URLS=http://127.0.0.1:${port}/F/default`);
  expect(output()).toContain('set debuginfod enabled on');
  expect(output()).toContain(`Web page:      http://127.0.0.1:${port}/\n`);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${port}/F/default/symbols/index2.txt`)).status).toBe(404);
  child.kill('SIGINT');
  expect(await exit).toBe(0);
});

describe('HOST', () => {
  /** Whether an HTTP request to `address` reaches the host; 127.0.0.2 is loopback, not 127.0.0.1. */
  const reaches = (address: string, port: number) =>
    fetch(`http://${address}:${port}/health`).then(
      (response) => response.status === 200,
      () => false,
    );

  it('is 127.0.0.1 unless set: the host answers this machine alone, and says so', async () => {
    const port = await freePort();
    const started = run({ PORT: String(port) });
    await ready(started);
    try {
      expect(started.output()).toContain(
        `Listening on 127.0.0.1:${port}, this machine only (HOST=0.0.0.0 listens on every address).`,
      );
      expect(await reaches('127.0.0.1', port)).toBe(true);
      expect(await reaches('127.0.0.2', port)).toBe(false);
    } finally {
      started.child.kill('SIGINT');
      await started.exit;
    }
  });

  it('opens the host to every address when set so, and says so', async () => {
    const port = await freePort();
    const started = run({ PORT: String(port), HOST: '0.0.0.0' });
    await ready(started);
    try {
      expect(started.output()).toContain(`Listening on 0.0.0.0:${port} (HOST), every address`);
      expect(started.output()).toContain(`http://127.0.0.1:${port}/F/default/symbols`);
      expect(await reaches('127.0.0.2', port)).toBe(true);
    } finally {
      started.child.kill('SIGINT');
      await started.exit;
    }
  });

  it.each([
    ['not a host!', /setting HOST is invalid \(must be an IP address or host name/],
    [
      '203.0.113.7',
      /cannot listen on 203\.0\.113\.7: no network interface of this machine has that address/,
    ],
  ])('refuses %s, saying why, and exits non-zero', async (host, message) => {
    const { output, exit } = run({ PORT: String(await freePort()), HOST: host });
    expect(await exit).toBe(1);
    expect(output()).toMatch(message);
  });
});

it('says which port is taken and exits non-zero', async () => {
  const blocker = createServer().listen(0);
  await new Promise((resolve) => blocker.once('listening', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const { output, exit } = run({ PORT: String(port) });
    expect(await exit).toBe(1);
    expect(output()).toContain(`port ${port} (symfeed) is already in use`);
  } finally {
    blocker.close();
  }
});

it('names a bad setting and exits non-zero', async () => {
  const { output, exit } = run({ PORT: String(await freePort()), SYMFEED_MAX_ENTRIES: 'lots' });
  expect(await exit).toBe(1);
  expect(output()).toMatch(/symfeed cannot start: setting SYMFEED_MAX_ENTRIES is invalid/);
});

describe('its own Azurite', () => {
  it.each([
    [
      'SYMFEED_DEFAULT_TOKEN',
      'not-a-token-abc',
      /setting SYMFEED_DEFAULT_TOKEN is invalid \(.*"sf_"/,
    ],
    ['SYMFEED_ADMIN_TOKEN', 'too-short-secret', /setting SYMFEED_ADMIN_TOKEN is invalid \(.*32/],
    ['PORT', 'x', /setting PORT is invalid/],
    ['SYMFEED_MAX_ENTRIES', 'lots', /setting SYMFEED_MAX_ENTRIES is invalid/],
    ['SYMFEED_AZURITE_PORTS', '1,2', /setting SYMFEED_AZURITE_PORTS is invalid/],
  ])('is never started when %s is bad', (name, value, message) =>
    withOwnAzurite(async (own) => {
      const { output, exit } = run({ ...own.env, [name]: value }, null);
      expect(await exit).toBe(1);
      expect(output()).toMatch(message);
      // A secret, even a wrong one, is not echoed.
      if (name.endsWith('_TOKEN')) expect(output()).not.toContain(value);
      expect(readdirSync(own.location)).toEqual([]);
      await expectNothingLeft(own);
    }),
  );

  it('is stopped when start-up fails after it started', () =>
    withOwnAzurite(async (own) => {
      // A well-formed SYMFEED_DEFAULT_TOKEN that storage knows as another feed's: only storage can tell.
      const before = await startAzurite({ ports: own.azurite, location: own.location });
      const storage = createStorageClients(before.connection);
      await ensureStorage(storage);
      const { token } = await createToken(storage.tokensTable, { feed: 'other', scopes: ['read'] });
      await before.stop();

      const { output, exit } = run({ ...own.env, SYMFEED_DEFAULT_TOKEN: token }, null);
      expect(await exit).toBe(1);
      expect(output()).toMatch(/SYMFEED_DEFAULT_TOKEN is already a token of feed "other"/);
      await expectNothingLeft(own);
      // And the next, correct start finds every port free.
      const again = run(own.env, null);
      expect(await ready(again)).toBe(true);
      again.child.kill('SIGINT');
      expect(await again.exit).toBe(0);
      await expectNothingLeft(own);
    }));

  it('ends with start.js, even when start.js is killed outright', () =>
    withOwnAzurite(async (own) => {
      const started = run(own.env, null);
      expect(await ready(started)).toBe(true);
      expect(processesWith(own.marker).length).toBe(2);
      started.child.kill('SIGKILL');
      await started.exit;
      await expectNothingLeft(own);
    }));

  it('stops with the host when only the npm process gets SIGTERM, as from an IDE', () =>
    withOwnAzurite(async (own) => {
      // --ignore-scripts skips prestart, the build (npm test built dist/ already); the process
      // tree is what a user's `npm start` runs: npm, a shell, node start.js, Azurite.
      const npm = watch(
        spawn('npm', ['start', '--ignore-scripts'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...own.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        }),
      );
      expect(await ready(npm)).toBe(true);
      expect(processesWith(own.marker).length).toBeGreaterThanOrEqual(3);
      process.kill(npm.child.pid!, 'SIGTERM');
      await npm.exit;
      await expectNothingLeft(own);
    }));
});

describe('the default token', () => {
  /** A storage account no `npm start` has used yet. */
  let fresh: RunningAzurite;
  beforeEach(async () => {
    fresh = await startAzurite({
      ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
    });
  });
  afterEach(() => fresh?.stop());

  it('is made once, with an expiry, and reused by the next start without being printed', async () => {
    const port = String(await freePort());
    const first = run({ PORT: port }, fresh.connectionString);
    expect(await ready(first)).toBe(true);
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(0);
    const token = /-ApiKey (sf_[A-Za-z0-9_-]{43})/.exec(first.output())?.[1];
    expect(token).toBeDefined();
    const id = /token ([0-9a-f]{16})/.exec(first.output())?.[1];
    expect(first.output()).toMatch(/expires 20\d\d-\d\d-\d\d/);

    const second = run({ PORT: port }, fresh.connectionString);
    expect(await ready(second)).toBe(true);
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
    expect(second.output()).not.toMatch(/sf_[A-Za-z0-9_-]{43}/);
    expect(second.output()).toContain(`token ${id}`);
    expect(second.output()).toContain(`npx symfeed token revoke ${id}`);
  });

  it('is not printed when it comes from SYMFEED_DEFAULT_TOKEN', async () => {
    const supplied = `sf_${randomBytes(32).toString('base64url')}`;
    const started = run(
      { PORT: String(await freePort()), SYMFEED_DEFAULT_TOKEN: supplied },
      fresh.connectionString,
    );
    expect(await ready(started)).toBe(true);
    started.child.kill('SIGINT');
    expect(await started.exit).toBe(0);
    expect(started.output()).not.toContain(supplied);
    expect(started.output()).toContain('$SYMFEED_DEFAULT_TOKEN');
  });
});
