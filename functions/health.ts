import { HttpResponseInit } from '@azure/functions';
import { runtime } from '../shared/runtime';
import { storageReachable } from '../shared/storage/clients';
import { FunctionDefinition } from './definition';

async function handler(): Promise<HttpResponseInit> {
  const ok = await storageReachable(runtime().storage);
  return ok
    ? { status: 200, body: 'ok\n' }
    : { status: 503, body: 'storage is unreachable\n', headers: { 'Retry-After': '5' } };
}

export const health: FunctionDefinition = {
  kind: 'http',
  name: 'health',
  options: { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler },
};
