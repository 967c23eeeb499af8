import { AzureFunctionsInstrumentation } from '@azure/functions-opentelemetry-instrumentation';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { meterProviderRegistered, prometheusReader } from './pipeline';
import { RedactingLogRecordProcessor, RedactingSpanProcessor } from './redaction';

/**
 * OpenTelemetry to Azure Monitor, as the Functions host's OpenTelemetry mode expects
 * (host.json `"telemetryMode": "OpenTelemetry"`): the host traces each invocation; in this
 * worker, AzureFunctionsInstrumentation runs every handler in the host's trace context and sends
 * the invocation's log lines as log records of it, so traces, storage calls and logs of one
 * invocation correlate. Must run before `@azure/functions` and `http` are first loaded: both are
 * patched as they load.
 */
export function startAzureMonitor(): void {
  // The host traces the request itself; the worker's own HTTP server only relays it, and a span
  // of its own would repeat the request's URL, token and all. Calls to storage are traced.
  // (HttpInstrumentation's own option, passed through by the distro.)
  const http = { enabled: true, disableIncomingRequestInstrumentation: true };
  useAzureMonitor({
    // The connection string comes from APPLICATIONINSIGHTS_CONNECTION_STRING.
    instrumentationOptions: { http },
    spanProcessors: [new RedactingSpanProcessor()],
    logRecordProcessors: [new RedactingLogRecordProcessor()],
    metricReaders: [prometheusReader],
  });
  meterProviderRegistered();
  new AzureFunctionsInstrumentation();
}
