import { Meter, metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The metric reader GET /metrics collects from. It serves nothing itself: the endpoint is a
 * function like any other, so it answers on the same port, locally and on Azure.
 */
export const prometheusReader = new PrometheusExporter({ preventServerStart: true });

/** debuginfod's form: symfeed's series only, without the target_info and scope labels. */
const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);

let providerRegistered = false;

/** The Azure Monitor set-up has registered a meter provider that reads into prometheusReader. */
export function meterProviderRegistered(): void {
  providerRegistered = true;
}

/**
 * symfeed's meter. Without Azure Monitor (locally, in tests) a meter provider of its own feeds
 * GET /metrics alone.
 */
export function meter(): Meter {
  return metrics.getMeter(meterName());
}

function meterName(): string {
  if (!providerRegistered) {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheusReader] }));
    providerRegistered = true;
  }
  return 'symfeed';
}

/**
 * symfeed's series recorded since the process started, in Prometheus text format. Those of
 * libraries (Azure Monitor's HTTP instrumentation records its own) go to Azure Monitor only.
 */
export async function prometheusText(): Promise<string> {
  const name = meterName();
  const { resourceMetrics } = await prometheusReader.collect();
  return serializer.serialize({
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.filter((scope) => scope.scope.name === name),
  });
}
