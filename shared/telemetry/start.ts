import { startAzureMonitor } from './azureMonitor';

// Imported first by functions/index.ts, ahead of anything that loads `@azure/functions` or
// `http`, which instrumentation patches as they load.
if (process.env.APPLICATIONINSIGHTS_CONNECTION_STRING) startAzureMonitor();
