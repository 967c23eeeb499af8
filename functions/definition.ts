import {
  EventGridFunctionOptions,
  HttpFunctionOptions,
  StorageQueueFunctionOptions,
  TimerFunctionOptions,
} from '@azure/functions';

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
    }
  | { readonly kind: 'queue'; readonly name: string; readonly options: StorageQueueFunctionOptions }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerFunctionOptions };

export type DefinitionOf<K extends FunctionDefinition['kind']> = Extract<
  FunctionDefinition,
  { kind: K }
>;
