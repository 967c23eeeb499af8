import { EventGridFunctionOptions, HttpFunctionOptions } from '@azure/functions';

/**
 * Each function module declares its handler and options once. functions/index.ts registers the
 * declarations with Azure; the local host (local/host.ts) drives the same declarations.
 */
export type FunctionDefinition =
  | { readonly kind: 'http'; readonly name: string; readonly options: HttpFunctionOptions }
  | {
      readonly kind: 'blobEvents';
      readonly name: string;
      readonly options: EventGridFunctionOptions;
      /** The container whose BlobCreated events this function receives through Event Grid. */
      readonly container: string;
    };
