import { HttpRequest } from '@azure/functions';
import { PassThrough } from 'node:stream';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { LocalHost, startLocalHost } from '../../local/host';
import { createStorageClients } from '../../shared/storage/clients';
import { freePort } from '../support/stack';

/**
 * The local host routes HTTP requests as the Functions host does: ASP.NET Core's matching of a
 * route template, the method part of the route. (The order of routes: test/unit/routing.test.ts.)
 */
let azurite: RunningAzurite;
let host: LocalHost;
/** The body of the streamed answer, written to by the test. */
const streamed = new PassThrough();

beforeAll(async () => {
  azurite = await startAzurite({
    ports: { blob: await freePort(), queue: await freePort(), table: await freePort() },
  });
  const storage = createStorageClients(azurite.connection);
  host = await startLocalHost({
    port: 0,
    container: (name) => storage.blobs.getContainerClient(name),
    queues: storage.queues,
    log: () => undefined,
    definitions: [
      {
        kind: 'http',
        name: 'files',
        options: {
          methods: ['GET'],
          route: 'files/{*path}',
          handler: async (request: HttpRequest) => ({ jsonBody: request.params }),
        },
      },
      {
        kind: 'http',
        name: 'streamed',
        options: {
          methods: ['GET'],
          route: 'streamed',
          handler: async () => ({ headers: { 'Content-Length': '5' }, body: streamed }),
        },
      },
    ],
  });
});

afterAll(async () => {
  await host?.close();
  await azurite?.stop();
});

const get = async (path: string, method = 'GET') => {
  const response = await fetch(`${host.url}${path}`, { method });
  return { status: response.status, body: response.status === 200 ? await response.json() : {} };
};

it('answers a method the route does not declare with 404, as Azure does', async () => {
  expect((await get('/files/a', 'DELETE')).status).toBe(404);
});

it('lets a catch-all match nothing, and ignores a trailing slash', async () => {
  expect(await get('/files')).toEqual({ status: 200, body: {} });
  expect(await get('/files/a/b/')).toEqual({ status: 200, body: { path: 'a/b/' } });
});

it('matches literal segments in any case', async () => {
  expect(await get('/FILES/x')).toEqual({ status: 200, body: { path: 'x' } });
});

it('matches no path with an empty segment where the template has one', async () => {
  expect((await get('/files//x')).status).toBe(404);
});

it('sends the status and headers of a streamed answer before its body has a byte', async () => {
  const response = await fetch(`${host.url}/streamed`);
  expect(response.headers.get('content-length')).toBe('5');
  streamed.end('bytes');
  expect(await response.text()).toBe('bytes');
});
