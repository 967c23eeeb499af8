import { AzureFunctionsInstrumentation } from '@azure/functions-opentelemetry-instrumentation';
import { ManagedIdentityCredential } from '@azure/identity';
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
/**
 * How the Functions host is told to send telemetry with Microsoft Entra ID rather than the
 * instrumentation key, which an Application Insights resource with local authentication off
 * refuses: `APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD` (the system-assigned
 * identity) or `Authorization=AAD;ClientId=<guid>` (a user-assigned one). The distro does not
 * read that setting, so the worker reads the same one and its metrics, logs and spans go with the
 * same identity. Undefined when the setting does not ask for Entra ID.
 */
export function entraIdentityOf(
  authenticationString: string | undefined,
): { readonly clientId?: string } | undefined {
  const pairs = new Map(
    (authenticationString ?? '')
      .split(';')
      .filter((part) => part.includes('='))
      .map((part) => {
        const at = part.indexOf('=');
        return [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim()] as const;
      }),
  );
  if (pairs.get('authorization')?.toLowerCase() !== 'aad') return undefined;
  const clientId = pairs.get('clientid');
  return clientId ? { clientId } : {};
}

export function startAzureMonitor(): void {
  const identity = entraIdentityOf(process.env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING);
  // The host traces the request itself; the worker's own HTTP server only relays it, and a span
  // of its own would repeat the request's URL, token and all. Calls to storage are traced.
  // (HttpInstrumentation's own option, passed through by the distro.)
  const http = { enabled: true, disableIncomingRequestInstrumentation: true };
  useAzureMonitor({
    // The connection string comes from APPLICATIONINSIGHTS_CONNECTION_STRING.
    ...(identity && {
      azureMonitorExporterOptions: { credential: new ManagedIdentityCredential(identity) },
    }),
    instrumentationOptions: { http },
    spanProcessors: [new RedactingSpanProcessor()],
    logRecordProcessors: [new RedactingLogRecordProcessor()],
    metricReaders: [prometheusReader],
  });
  meterProviderRegistered();
  new AzureFunctionsInstrumentation();
}
