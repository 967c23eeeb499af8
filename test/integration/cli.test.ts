import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { FIXTURES, fixtureFiles } from '../support/fixtureKeys';
import { makeZip, symbolIndex } from '../support/zips';

const run = runCli;

const elf = fixtureFiles('elf');
const macho = fixtureFiles('macho');

describe('symfeed keys', () => {
  it('prints the keys the independent tools imply, key<TAB>path', async () => {
    const { code, lines } = await run(
      'keys',
      path.join(FIXTURES, 'elf/hello'),
      path.join(FIXTURES, 'macho'),
    );
    expect(code).toBe(0);
    const hello = elf.find((file) => file.name === 'hello')!;
    expect(lines).toContain(`${hello.keys[0]}\t${hello.path}`);
    for (const file of macho) {
      for (const key of file.keys)
        expect(lines.some((line) => line.startsWith(`${key}\t`))).toBe(true);
    }
  });

  it('prints JSON with --json', async () => {
    const hello = elf.find((file) => file.name === 'hello')!;
    const { code, lines } = await run('keys', '--json', hello.path);
    expect(code).toBe(0);
    expect(JSON.parse(lines.join('\n'))).toEqual([
      { key: hello.keys[0], path: hello.path, source: 'derived', convention: 'elf-buildid' },
    ]);
  });

  it('prints what the indexer would serve from a package, explicit and derived', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'symfeed-cli-'));
    const zipPath = path.join(dir, 'p.zip');
    const hello = elf.find((file) => file.name === 'hello')!;
    writeFileSync(
      zipPath,
      await makeZip([
        {
          name: 'symbol_index.json',
          data: symbolIndex([{ clientKey: 'Some/Explicit/Key', blobPath: 'a.txt' }]),
        },
        { name: 'a.txt', data: 'a' },
        { name: 'bin/hello', data: readFileSync(hello.path) },
      ]),
    );
    const { code, lines } = await run('keys', zipPath);
    expect(code).toBe(0);
    expect(lines.sort()).toEqual(
      [`${hello.keys[0]}\t${zipPath}!bin/hello`, `some/explicit/key\t${zipPath}!a.txt`].sort(),
    );
  });

  it('fails clearly on a damaged package and a missing path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'symfeed-cli-'));
    const bad = path.join(dir, 'bad.zip');
    writeFileSync(bad, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]));
    expect(await run('keys', bad)).toMatchObject({
      code: 1,
      warnings: [expect.stringMatching(/bad\.zip: not a readable zip/)],
    });
    expect(await run('keys', path.join(dir, 'nothing-here'))).toMatchObject({
      code: 1,
      warnings: [expect.stringMatching(/nothing-here: no such file or folder/)],
    });
  });
});

/** Reads a written package back with yauzl: its entry names and its symbol_index.json. */
async function readZip(file: string): Promise<{ names: string[]; index: string }> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const names: string[] = [];
  let index = '';
  for (;;) {
    const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      zip
        .once('entry', resolve)
        .once('end', () => resolve(undefined))
        .once('error', reject);
      zip.readEntry();
    });
    if (!entry) break;
    zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
    names.push(entry.fileName);
    if (entry.fileName === 'symbol_index.json') {
      for await (const chunk of await zip.openReadStreamPromise(entry)) index += String(chunk);
    }
  }
  zip.close();
  return { names, index };
}

describe('symfeed pack', () => {
  it('writes a package whose symbol_index.json maps every derived key of the folder', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'symfeed-pack-'));
    mkdirSync(path.join(dir, 'in/lib'), { recursive: true });
    const files = [...elf, ...macho].filter((f) =>
      ['hello.debug', 'libgreet.so', 'libanswer.dylib', 'hello-universal'].includes(f.name),
    );
    for (const file of files) copyFileSync(file.path, path.join(dir, 'in/lib', file.name));
    const output = path.join(dir, 'out.zip');
    const { code } = await run('pack', path.join(dir, 'in'), '-o', output);
    expect(code).toBe(0);

    const { names, index } = await readZip(output);
    expect(names.sort()).toEqual(
      ['symbol_index.json', ...files.map((f) => `lib/${f.name}`)].sort(),
    );
    const mappings = JSON.parse(index) as { clientKey: string; blobPath: string }[];
    const expected = files.flatMap((f) =>
      f.keys.map((key) => ({ clientKey: key, blobPath: `lib/${f.name}` })),
    );
    expect(mappings.sort((a, b) => a.clientKey.localeCompare(b.clientKey))).toEqual(
      expected.sort((a, b) => a.clientKey.localeCompare(b.clientKey)),
    );
  });

  it('refuses a folder with nothing to key', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'symfeed-pack-'));
    writeFileSync(path.join(dir, 'notes.txt'), 'no keys here');
    expect(await run('pack', dir, '-o', path.join(dir, 'x.zip'))).toMatchObject({
      code: 1,
      warnings: [expect.stringMatching(/nothing to pack/)],
    });
  });
});

describe('usage', () => {
  it.each([[[]], [['frobnicate']], [['keys']], [['pack', 'dir']], [['keys', '--nope', 'x']]])(
    'exits 2 with the usage for %j',
    async (args) => {
      const { code, lines, warnings } = await run(...args);
      expect(code).toBe(2);
      expect([...lines, ...warnings].join('\n')).toMatch(/usage:\n {2}symfeed keys/);
    },
  );

  it('runs as the package.json bin, which the build makes executable', async () => {
    const bin = path.join(__dirname, '../../dist/cli/symfeed.js');
    // npx runs the bin itself: without the executable bit a fresh clone gets "Permission denied".
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      'keys',
      path.join(FIXTURES, 'elf/hello'),
    ]);
    expect(stdout).toBe(
      `${elf.find((f) => f.name === 'hello')!.keys[0]}\t${path.join(FIXTURES, 'elf/hello')}\n`,
    );
  });

  it('ends quietly when the reader of its output goes away, as `| head` does', async () => {
    const bin = path.join(__dirname, '../../dist/cli/symfeed.js');
    const child = spawn(process.execPath, [bin, 'keys', FIXTURES], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the first line is written: every write meets a pipe with no reader.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error:|^\s+at /m);
    expect(code).toBe(0);
  });
});
