import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { RestError } from '@azure/storage-blob';

/** A fault every request meets while it lasts is told once a minute, not once a request. */
const REPORT_EVERY_MS = 60_000;
const lastReported = new Map<string, number>();

/** One log line for the operator about a fault of the storage account (never a secret). */
export function reportStorageFault(fault: string, line: string): void {
  const now = Date.now();
  if (now - (lastReported.get(fault) ?? -Infinity) < REPORT_EVERY_MS) return;
  lastReported.set(fault, now);
  console.error(`storage: ${line}`);
}

const MISSING_CODES = {
  ContainerNotFound: 'container',
  TableNotFound: 'table',
  QueueNotFound: 'queue',
} as const;
type MissingCode = keyof typeof MISSING_CODES;

export interface MissingResource {
  readonly kind: (typeof MISSING_CODES)[MissingCode];
  readonly name: string;
}

/** The error code storage answers for a missing container, table or queue, or undefined. */
export function missingCodeOf(code: string | null | undefined): MissingCode | undefined {
  return code && code in MISSING_CODES ? (code as MissingCode) : undefined;
}

/**
 * A container, table or queue symfeed uses does not exist. On Azure nothing creates them at run
 * time (`npm start` and the symfeed command do), and storage answers 404 for them as it does for
 * an absent row or blob: the error returned has no status, so that no caller takes the missing
 * table for a missing feed, package or token, and callers answer it with 503 like any storage
 * fault. A RestError that says which (RestError's constructor sets its own prototype, so a
 * subclass of it could not be told apart by instanceof). Tells the operator, too.
 */
export function missingResourceError(code: MissingCode, name: string): RestError {
  const resource: MissingResource = { kind: MISSING_CODES[code], name };
  const error = new RestError(`storage ${resource.kind} "${name}" does not exist (${code})`, {
    code,
  });
  reportStorageFault(
    `missing ${resource.kind} ${name}`,
    `${error.message}: every request that needs it answers 503 until it is created (npm start and the symfeed command create what symfeed uses; on Azure, the deployment must)`,
  );
  return Object.assign(error, { missingResource: resource });
}

/** The container, table or queue whose absence an error reports, if it reports one. */
export function missingResourceOf(error: unknown): MissingResource | undefined {
  return error instanceof RestError
    ? (error as RestError & { missingResource?: MissingResource }).missingResource
    : undefined;
}

/** An absent row or blob (404), never a missing table, container or queue (see above). */
export function isAbsent(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}

/**
 * The service's error code of a response that names a missing container, table or queue. Blob
 * and queue errors carry it in a header; table errors in their JSON body, and a table
 * transaction's in the 404 of its multipart 202 answer.
 */
function missingCode(response: PipelineResponse): MissingCode | undefined {
  const inBody = () =>
    /"code"\s*:\s*"(\w+)"|<Code>(\w+)<\/Code>/
      .exec(response.bodyAsText ?? '')
      ?.slice(1)
      .find(Boolean);
  const batch = response.status === 202 && /^HTTP\/1\.1 404 /m.test(response.bodyAsText ?? '');
  const code =
    response.status === 404 || batch
      ? (response.headers.get('x-ms-error-code') ?? inBody())
      : undefined;
  return missingCodeOf(code);
}

/**
 * Storage refused a request: the token expired or is not for this account (401), or the identity
 * lacks a role such as Storage Blob Data Contributor (403). `what` is the method and path.
 */
export function reportRefusal(status: number, code: string | null | undefined, what: string): void {
  const answer = [status, code].filter(Boolean).join(' ');
  reportStorageFault(
    `refused ${status}`,
    `storage refused symfeed's credential: ${answer} on ${what}`,
  );
}

/**
 * Turns answers that name a missing container, table or queue into missingResourceError's, and
 * tells the operator of those and of refused credentials. `resourceOf` names the container, table
 * or queue a request is for.
 */
export function storageFaultPolicy(
  resourceOf: (request: PipelineRequest) => string,
): PipelinePolicy {
  return {
    name: 'symfeedStorageFaults',
    async sendRequest(request, next) {
      const response = await next(request);
      const code = missingCode(response);
      if (code) throw missingResourceError(code, resourceOf(request));
      if (response.status === 401 || response.status === 403) {
        reportRefusal(
          response.status,
          response.headers.get('x-ms-error-code'),
          `${request.method} ${new URL(request.url).pathname}`,
        );
      }
      return response;
    },
  };
}
