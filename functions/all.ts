import { admin } from './admin';
import { debuginfod, debuginfodWithToken } from './debuginfod';
import { deleter } from './deleter';
import { FunctionDefinition } from './definition';
import { loggingFailures } from './failures';
import { health } from './health';
import { indexer } from './indexer';
import { metricsEndpoint } from './metrics';
import { mirror } from './mirror';
import { nugetV2 } from './nugetV2';
import { nugetV3 } from './nugetV3';
import { page, pageAsset } from './page';
import { retention } from './retention';
import { symbols, symbolsWithToken } from './symbols';
import { ui } from './ui';

export const definitions: readonly FunctionDefinition[] = loggingFailures([
  symbols,
  symbolsWithToken,
  debuginfod,
  debuginfodWithToken,
  health,
  indexer,
  deleter,
  retention,
  mirror,
  ...admin,
  ...nugetV3,
  nugetV2,
  metricsEndpoint,
  page,
  pageAsset,
  ...ui,
]);
