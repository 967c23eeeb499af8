import {
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
      readonly kind: 'queue';
      readonly name: string;
      readonly options: StorageQueueFunctionOptions;
      /**
       * The container whose BlobCreated and BlobDeleted events an Event Grid subscription of the
       * storage account delivers to this function's queue (infra/ makes the subscription; the
       * local host's container scan stands in for it).
       */
      readonly blobEventsOf?: string;
    }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerFunctionOptions };

export type DefinitionOf<K extends FunctionDefinition['kind']> = Extract<
  FunctionDefinition,
  { kind: K }
>;
