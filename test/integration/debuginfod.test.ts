import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES } from '../support/fixtureKeys';
import { makeZip } from '../support/zips';
import { startStack, Stack } from '../support/stack';
import { RecordingProxy, recordingProxy } from '../support/recordingProxy';

/**
 * gdb and elfutils' debuginfod-find (Debian packages gdb and debuginfod) fetch a stripped
 * program's debug file from symfeed through the debuginfod URL scheme, through a proxy that
 * records what they asked for and got: both take gzip (libcurl's Accept-Encoding), and the debug
 * file is deflated in its package, so it goes to them as gzip straight from the zip.
 */
const run = promisify(execFile);
const debugFile = path.join(FIXTURES, 'elf/hello.debug');
const program = path.join(FIXTURES, 'elf/hello');
const buildId = (
  JSON.parse(readFileSync(path.join(FIXTURES, 'elf/expected-keys.json'), 'utf8')) as Record<
    string,
    { identity: string[] }
  >
).hello!.identity[0]!;

let stack: Stack;
let proxy: RecordingProxy;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startStack();
  await stack.upload(
    'debug.zip',
    await makeZip([{ name: 'usr/lib/debug/hello.debug', data: readFileSync(debugFile) }]),
  );
  await stack.indexed('debug.zip');
  proxy = await recordingProxy(stack.host.url);
});
beforeEach(() => {
  // A cache of its own for each test: a client that finds the file cached asks nothing.
  const home = mkdtempSync(path.join(tmpdir(), 'symfeed-debuginfod-'));
  env = {
    PATH: process.env.PATH,
    HOME: home,
    DEBUGINFOD_URLS: `${proxy.url}/F/default`,
    DEBUGINFOD_CACHE_PATH: path.join(home, 'cache'),
  };
  proxy.exchanges.length = 0;
});
afterAll(async () => {
  await proxy?.stop();
  await stack?.stop();
});

/** The debuginfo answers the client was sent: each asked for gzip and got it. */
function expectGzipAnswers() {
  const answers = proxy.exchanges.filter((e) => e.path.endsWith(`/buildid/${buildId}/debuginfo`));
  expect(answers.length).toBeGreaterThan(0);
  for (const answer of answers) {
    expect(answer.request['accept-encoding']).toMatch(/gzip/);
    expect([answer.status, answer.response['content-encoding']]).toEqual([200, 'gzip']);
    expect(answer.response['x-debuginfod-size']).toBe(String(readFileSync(debugFile).length));
  }
}

async function tool(command: string, args: string[]) {
  try {
    return await run(command, args, { env, timeout: 60_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `${command} is missing: install the Debian package ${command === 'gdb' ? 'gdb' : 'debuginfod'}`,
        { cause: error },
      );
    }
    throw error;
  }
}

it('serves /buildid/<id>/debuginfo, and 404 for what it cannot serve', async () => {
  const response = await fetch(`${stack.host.url}/F/default/buildid/${buildId}/debuginfo`);
  expect(response.status).toBe(200);
  expect(Buffer.from(await response.arrayBuffer())).toEqual(readFileSync(debugFile));
  expect((await fetch(`${stack.host.url}/F/default/buildid/${buildId}/executable`)).status).toBe(
    404,
  );
  expect((await fetch(`${stack.host.url}/F/default/buildid/not-hex/debuginfo`)).status).toBe(404);
  expect(
    (await fetch(`${stack.host.url}/F/default/buildid/${'ab'.repeat(20)}/debuginfo`)).status,
  ).toBe(404);
});

it('gives debuginfod-find the debug file', async () => {
  const { stdout } = await tool('debuginfod-find', ['debuginfo', buildId]);
  expect(readFileSync(stdout.trim())).toEqual(readFileSync(debugFile));
  expectGzipAnswers();
});

it("answers debuginfod's headers, and identity bytes to a client that does not take gzip", async () => {
  const response = await fetch(`${stack.host.url}/F/default/buildid/${buildId}/debuginfo`, {
    headers: { 'Accept-Encoding': 'identity' },
  });
  const debug = readFileSync(debugFile);
  expect(response.headers.get('content-encoding')).toBeNull();
  expect(response.headers.get('vary')).toBe('Accept-Encoding');
  expect(response.headers.get('x-debuginfod-size')).toBe(String(debug.length));
  expect(response.headers.get('x-debuginfod-file')).toBe('usr/lib/debug/hello.debug');
  expect(response.headers.get('x-debuginfod-archive')).toBe('default/debug.zip');
  expect(Buffer.from(await response.arrayBuffer())).toEqual(debug);
});

it("lets gdb find a stripped program's lines and sources", async () => {
  const { stdout } = await tool('gdb', [
    '-nx',
    '-batch',
    // Before the program loads, so that loading it asks debuginfod.
    '-iex',
    'set debuginfod enabled on',
    '-ex',
    'info line main',
    program,
  ]);
  // main() is on line 3 of test/fixtures/elf/hello.c.
  expect(stdout).toMatch(/Line 3 of "(\.\/)?hello\.c"/);
  expectGzipAnswers();
});
