import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load, LoadResult } from '../support/load';
import { freePort } from '../../local/ports';
import { ratio } from '../support/stats';
import { DebugFile, FEED } from './fixtures';

export interface DebuginfodResult {
  /** Why the peer could not be measured, when it could not. */
  readonly missing: string | null;
  /** How the run differed from the plain `debuginfod -U` setup, if it did. */
  readonly note: string | null;
  readonly debuginfod: LoadResult | null;
  readonly symfeed: LoadResult;
  readonly rpsRatio: number | null;
  readonly p99Ratio: number | null;
}

const CONNECTIONS = 16;

/**
 * The peer: elfutils debuginfod serving the same ELF debug files out of a .deb, against symfeed
 * serving them out of a zip, both by `/buildid/<id>/debuginfo`, hot (every file fetched once
 * before measuring), at 16 connections. The bench installs nothing: a missing tool is reported.
 */
export async function debuginfodScenario(
  symfeedHot: string,
  files: readonly DebugFile[],
  seconds: number,
  log: (line: string) => void,
): Promise<DebuginfodResult> {
  const symfeedPaths = files.map((f) => `/F/${FEED}/buildid/${f.buildId}/debuginfo`);
  await warm(symfeedHot, symfeedPaths);
  const symfeed = await load({
    url: symfeedHot,
    connections: CONNECTIONS,
    seconds,
    paths: symfeedPaths,
  });
  log(
    `symfeed debuginfo: ${symfeed.requestsPerSecond.toFixed(0)} req/s, p99 ${symfeed.latencyP99Ms.toFixed(2)} ms`,
  );

  const missing = ['debuginfod', 'dpkg-deb']
    .filter((tool) => !onPath(tool))
    .map((tool) => `${tool} (Debian package ${tool === 'debuginfod' ? 'debuginfod' : 'dpkg'})`);
  if (missing.length > 0) {
    const why = `not on PATH: ${missing.join(', ')}; install it to compare with debuginfod`;
    log(`debuginfod: skipped, ${why}`);
    return { missing: why, note: null, debuginfod: null, symfeed, rpsRatio: null, p99Ratio: null };
  }
  // -U runs bsdtar (libarchive-tools) on every .deb; without it, dpkg-deb hands debuginfod the
  // same data.tar through -Z. Serving hot files does not touch the archive either way.
  const scan = onPath('bsdtar') ? ['-U'] : ['-Z', '.deb=dpkg-deb --fsys-tarfile'];
  const note = onPath('bsdtar')
    ? null
    : 'bsdtar missing (Debian package libarchive-tools): .deb scanned with -Z .deb=dpkg-deb --fsys-tarfile instead of -U';
  if (note) log(`debuginfod: ${note}`);
  const work = mkdtempSync(path.join(tmpdir(), 'symfeed-bench-debuginfod-'));
  let server: ChildProcess | undefined;
  try {
    const debs = buildDeb(work, files);
    const port = await freePort();
    server = spawn(
      'debuginfod',
      // -t 0 -g 0: scan once, never groom, so nothing runs in the background during the load.
      [...scan, '-d', path.join(work, 'db.sqlite'), '-p', String(port), '-t', '0', '-g', '0', debs],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: work } },
    );
    let stderr = '';
    server.stderr?.on(
      'data',
      (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)),
    );
    const url = `http://127.0.0.1:${port}`;
    const paths = files.map((f) => `/buildid/${f.buildId}/debuginfo`);
    await waitServing(url, paths, server, () => stderr);
    await warm(url, paths);
    const peer = await load({ url, connections: CONNECTIONS, seconds, paths });
    log(
      `debuginfod debuginfo: ${peer.requestsPerSecond.toFixed(0)} req/s, p99 ${peer.latencyP99Ms.toFixed(2)} ms`,
    );
    return {
      missing: null,
      note,
      debuginfod: peer,
      symfeed,
      rpsRatio: ratio(symfeed.requestsPerSecond, peer.requestsPerSecond),
      p99Ratio: ratio(symfeed.latencyP99Ms, peer.latencyP99Ms),
    };
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => existsSync(path.join(dir, tool)));
}

/** A -dbgsym style .deb: /usr/lib/debug/.build-id/xx/yyyy.debug for every file. */
function buildDeb(work: string, files: readonly DebugFile[]): string {
  const root = path.join(work, 'pkg');
  mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  writeFileSync(
    path.join(root, 'DEBIAN', 'control'),
    [
      'Package: symfeed-bench-dbgsym',
      'Version: 1.0',
      'Architecture: amd64',
      'Maintainer: symfeed bench <bench@localhost>',
      'Description: ELF debug files of the symfeed fixtures',
      '',
    ].join('\n'),
  );
  for (const file of files) {
    const dir = path.join(root, 'usr', 'lib', 'debug', '.build-id', file.buildId.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${file.buildId.slice(2)}.debug`), file.bytes);
  }
  const debs = path.join(work, 'debs');
  mkdirSync(debs);
  execFileSync(
    'dpkg-deb',
    ['--root-owner-group', '--build', root, path.join(debs, 'symfeed-bench-dbgsym_1.0_amd64.deb')],
    {
      stdio: 'ignore',
    },
  );
  return debs;
}

async function waitServing(
  url: string,
  paths: readonly string[],
  server: ChildProcess,
  stderr: () => string,
) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null)
      throw new Error(`debuginfod exited (${server.exitCode}):\n${stderr()}`);
    const statuses = await Promise.all(
      paths.map((p) =>
        fetch(`${url}${p}`)
          .then(async (response) => (await response.arrayBuffer(), response.status))
          .catch(() => 0),
      ),
    );
    if (statuses.every((status) => status === 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`debuginfod did not serve the files within 60 s:\n${stderr()}`);
}

async function warm(url: string, paths: readonly string[]) {
  for (const p of paths) {
    const response = await fetch(`${url}${p}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${url}${p} gave ${response.status}`);
  }
}
