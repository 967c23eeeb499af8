import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * No token in any telemetry: test/support/telemetryRun.ts drives requests with tokens in the
 * path (at the end of it too), in Basic and Bearer credentials and as a NuGet API key, through
 * the local host with symfeed's redacting processors ahead of in-memory exporters, and prints
 * every exported span and log record. It runs in a process of its own, where `http` can be
 * instrumented, from the TypeScript sources (transpiled as they load, as ts-jest does).
 */
const run = promisify(execFile);
const ROOT = path.join(__dirname, '../..');
const TRANSPILE_ON_LOAD = `
const ts = require('typescript');
const fs = require('node:fs');
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};
require(process.argv[1]);
`;

interface Captured {
  readonly secrets: string[];
  readonly statuses: number[];
  readonly spans: { name: string; attributes: Record<string, unknown>; events: unknown[] }[];
  readonly logs: { body: unknown; attributes: Record<string, unknown> }[];
}

let captured: Captured;

beforeAll(async () => {
  const { stdout } = await run(
    process.execPath,
    ['-e', TRANSPILE_ON_LOAD, path.join(ROOT, 'test/support/telemetryRun.ts')],
    { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
  );
  captured = JSON.parse(stdout.trim().split('\n').pop()!) as Captured;
}, 150_000);

it('exports spans and log records of every request, none holding a token', () => {
  const { secrets, spans, logs } = captured;
  expect(spans.length).toBeGreaterThan(0);
  expect(logs.length).toBeGreaterThan(0);
  const leaks = [...spans, ...logs]
    .map((item) => JSON.stringify(item))
    .filter((text) => secrets.some((secret) => text.includes(secret)));
  expect(leaks).toEqual([]);
});

it('records the URLs it was sent, /auth/{token} redacted, at the end of a path too', () => {
  const urls = captured.spans.flatMap((span) =>
    Object.values(span.attributes).filter(
      (value): value is string => typeof value === 'string' && value.includes('/F/priv/auth/'),
    ),
  );
  expect(urls).toContainEqual(expect.stringMatching(/\/F\/priv\/auth\/\[redacted\]\/symbols\//));
  expect(urls).toContainEqual(expect.stringMatching(/\/F\/priv\/auth\/\[redacted\]$/));
  // The storage outage's failed answer is logged with the redacted path.
  const failure = captured.logs
    .map((record) => String(record.body))
    .find((body) => body.includes('symfeed.failed_answer'));
  expect(failure).toContain('"path":"/F/priv/auth/[redacted]/symbols/');
});
