import { admin } from './admin';
import { debuginfod, debuginfodWithToken } from './debuginfod';
import { deleter } from './deleter';
import { FunctionDefinition } from './definition';
import { health } from './health';
import { indexer } from './indexer';
import { retention } from './retention';
import { symbols, symbolsWithToken } from './symbols';

export const definitions: readonly FunctionDefinition[] = [
  symbols,
  symbolsWithToken,
  debuginfod,
  debuginfodWithToken,
  health,
  indexer,
  deleter,
  retention,
  ...admin,
];
