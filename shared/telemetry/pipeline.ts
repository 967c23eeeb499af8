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
  if (!providerRegistered) {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheusReader] }));
    providerRegistered = true;
  }
  return metrics.getMeter('symfeed');
}

/** Every series recorded since the process started, in Prometheus text format. */
export async function prometheusText(): Promise<string> {
  meter();
  const { resourceMetrics } = await prometheusReader.collect();
  return serializer.serialize(resourceMetrics);
}
