import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../support/stack';

/**
 * `npm start` runs dist/local/start.js (npm test builds it first). With AzureWebJobsStorage set it
 * uses that account instead of its own Azurite, which lets this test run beside a developer's
 * `npm start` on the standard ports.
 */
const script = path.join(__dirname, '../../dist/local/start.js');
let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite({
    ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
  });
});
afterAll(() => azurite?.stop());

function run(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
} {
  let output = '';
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', AzureWebJobsStorage: azurite.connectionString, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

it('starts, prints the URLs, serves, and stops cleanly on Ctrl-C', async () => {
  const port = await freePort();
  const { child, output, exit } = run({ PORT: String(port) });
  const deadline = Date.now() + 30_000;
  while (!output().includes('Press Ctrl-C to stop.') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(output()).toContain(`http://localhost:${port}/F/default/symbols`);
  expect(output()).toContain('az storage blob upload');
  expect((await fetch(`http://localhost:${port}/health`)).status).toBe(200);
  expect((await fetch(`http://localhost:${port}/F/default/symbols/index2.txt`)).status).toBe(404);
  child.kill('SIGINT');
  expect(await exit).toBe(0);
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
