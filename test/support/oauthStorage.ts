import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { request } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePorts } from '../../local/ports';

/**
 * Azure as the Functions host sees it, without an account key anywhere: Azurite in OAuth mode
 * (HTTPS with a certificate made here by openssl; it checks a bearer token's issuer, audience and
 * lifetime, not its signature) and a managed-identity endpoint that answers App Service's protocol
 * (IDENTITY_ENDPOINT with the header X-IDENTITY-HEADER, api-version 2019-08-01) with such tokens.
 */
export interface OAuthStorage {
  readonly azurite: RunningAzurite;
  readonly identity: IdentityEndpoint;
  /** The certificate Azurite serves, for NODE_EXTRA_CA_CERTS or a client's `ca`. */
  readonly certFile: string;
  /**
   * What a process needs to use this storage with the managed identity `CLIENT_ID`: the
   * identity-based AzureWebJobsStorage__* settings, the endpoint and the certificate. No key.
   */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export const CLIENT_ID = '5e5f2c1a-7b3d-4c8e-9f10-a1b2c3d4e5f6';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** What the endpoint does with a request for a token. */
export type IdentityMode =
  /** Answers with a valid token. */
  | 'valid'
  /** Answers with a token whose own expiry has passed, though `expires_on` says it is good. */
  | 'expired'
  /** Refuses, as the platform does for an identity that is not assigned to the app. */
  | 'refuse';

export interface IdentityEndpoint {
  readonly url: string;
  readonly secret: string;
  mode: IdentityMode;
  /** How long the tokens it hands out live. */
  lifetimeSeconds: number;
  /** The token requests it answered, with what they asked. */
  readonly requests: { resource: string | null; clientId: string | null; status: number }[];
  /** A valid token, for the test's own requests. */
  token(): string;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned JWT for Azure Storage, valid from a minute ago until `expiresAt` (seconds). */
function storageJwt(expiresAt: number): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: 'https://storage.azure.com',
    iss: `https://sts.windows.net/${TENANT}/`,
    iat: now - 60,
    nbf: now - 60,
    exp: expiresAt,
    appid: CLIENT_ID,
    oid: CLIENT_ID,
    tid: TENANT,
  };
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

async function startIdentityEndpoint(): Promise<{ endpoint: IdentityEndpoint; server: Server }> {
  const secret = `identity-header-${Math.random().toString(36).slice(2)}`;
  const requests: IdentityEndpoint['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const answer = (status: number, body: object) => {
      requests.push({
        resource: url.searchParams.get('resource'),
        clientId: url.searchParams.get('client_id'),
        status,
      });
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    if (
      req.headers['x-identity-header'] !== secret ||
      url.searchParams.get('api-version') !== '2019-08-01'
    ) {
      answer(400, { error: 'invalid_request', error_description: 'not the App Service protocol' });
      return;
    }
    if (endpoint.mode === 'refuse') {
      answer(400, {
        statusCode: 400,
        message: 'No User Assigned or Delegated Managed Identity found for specified ClientId.',
      });
      return;
    }
    const expiresOn = Math.floor(Date.now() / 1000) + endpoint.lifetimeSeconds;
    const jwtExpiry = endpoint.mode === 'expired' ? Math.floor(Date.now() / 1000) - 120 : expiresOn;
    answer(200, {
      access_token: storageJwt(jwtExpiry),
      expires_on: String(expiresOn),
      resource: url.searchParams.get('resource'),
      token_type: 'Bearer',
      client_id: url.searchParams.get('client_id') ?? CLIENT_ID,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint: IdentityEndpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`,
    secret,
    mode: 'valid',
    lifetimeSeconds: 3600,
    requests,
    token: () => storageJwt(Math.floor(Date.now() / 1000) + 3600),
  };
  return { endpoint, server };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made now, in `folder`. */
function makeCertificate(folder: string): { cert: string; key: string } {
  const cert = path.join(folder, 'cert.pem');
  const key = path.join(folder, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export async function startOAuthStorage(): Promise<OAuthStorage> {
  const folder = mkdtempSync(path.join(tmpdir(), 'symfeed-oauth-'));
  const tls = makeCertificate(folder);
  const [blob, queue, table] = await freePorts(3);
  const ports = { blob: blob!, queue: queue!, table: table! };
  const azurite = await startAzurite({ ports, oauth: tls });
  const { endpoint, server } = await startIdentityEndpoint();
  return {
    azurite,
    identity: endpoint,
    certFile: tls.cert,
    env: {
      AzureWebJobsStorage__blobServiceUri: azurite.endpoints.blob,
      AzureWebJobsStorage__queueServiceUri: azurite.endpoints.queue,
      AzureWebJobsStorage__tableServiceUri: azurite.endpoints.table,
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: CLIENT_ID,
      IDENTITY_ENDPOINT: endpoint.url,
      IDENTITY_HEADER: endpoint.secret,
      NODE_EXTRA_CA_CERTS: tls.cert,
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await azurite.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * One request to the OAuth-mode Azurite from the test itself, authorised as the app is (a bearer
 * token of the identity endpoint) and trusting its certificate through the client options.
 */
export function storageRequest(
  storage: OAuthStorage,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(storage.certFile),
        headers: {
          Authorization: `Bearer ${storage.identity.token()}`,
          'x-ms-version': '2021-08-06',
          'x-ms-date': new Date().toUTCString(),
          ...(body ? { 'Content-Length': String(body.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
