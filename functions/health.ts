import { HttpResponseInit } from '@azure/functions';
import { runtime } from '../shared/runtime';
import { probeStorage } from '../shared/storage/clients';
import { FunctionDefinition } from './definition';

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };

/**
 * 200 when every container, table and queue symfeed uses answers; 503 naming the services that
 * do not answer and the containers, tables and queues that do not exist, one line each, so that
 * whoever looks knows what to see to.
 */
async function handler(): Promise<HttpResponseInit> {
  const results = Object.entries(await probeStorage(runtime().storage));
  const lines = results.map(
    ([service, r]) => `${service}: ${r.state}${r.detail ? ` (${r.detail})` : ''}`,
  );
  const named = (state: string) =>
    results.filter(([, r]) => r.state === state).map(([service]) => service);
  const [unreachable, failing] = [named('unreachable'), named('failing')];
  const missing = results.flatMap(([, r]) => r.missing ?? []);
  if (unreachable.length === 0 && failing.length === 0 && missing.length === 0) {
    return { status: 200, headers: TEXT, body: ['ok', ...lines, ''].join('\n') };
  }
  const summary = [
    ...(unreachable.length ? [`storage is unreachable: ${unreachable.join(', ')}`] : []),
    ...(failing.length ? [`storage is failing: ${failing.join(', ')}`] : []),
    ...(missing.length ? [`storage is missing: ${missing.join(', ')}`] : []),
  ];
  return {
    status: 503,
    headers: { ...TEXT, 'Retry-After': '5' },
    body: [...summary, ...lines, ''].join('\n'),
  };
}

export const health: FunctionDefinition = {
  kind: 'http',
  name: 'health',
  options: { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler },
};
