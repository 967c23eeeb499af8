import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES } from '../support/fixtureKeys';
import { makeZip } from '../support/zips';
import { startStack, Stack } from '../support/stack';

/**
 * gdb and elfutils' debuginfod-find (Debian packages gdb and debuginfod) fetch a stripped
 * program's debug file from symfeed through the debuginfod URL scheme.
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
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startStack();
  await stack.upload(
    'debug.zip',
    await makeZip([{ name: 'usr/lib/debug/hello.debug', data: readFileSync(debugFile) }]),
  );
  await stack.indexed('debug.zip');
  const home = mkdtempSync(path.join(tmpdir(), 'symfeed-debuginfod-'));
  env = {
    PATH: process.env.PATH,
    HOME: home,
    DEBUGINFOD_URLS: `${stack.host.url}/F/default`,
    DEBUGINFOD_CACHE_PATH: path.join(home, 'cache'),
  };
});
afterAll(() => stack?.stop());

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
});
