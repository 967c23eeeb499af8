import { HttpResponseInit } from '@azure/functions';
import { settings } from '../shared/config/settings';
import { prometheusText } from '../shared/telemetry/pipeline';
import { FunctionDefinition } from './definition';

/**
 * symfeed's metrics in Prometheus text format, as debuginfod serves them: on by default locally,
 * off on Azure, where Azure Monitor receives them and this endpoint would tell anyone the names
 * of every feed (SYMFEED_METRICS_ENDPOINT).
 */
async function handler(): Promise<HttpResponseInit> {
  if (settings().SYMFEED_METRICS_ENDPOINT !== 'on') {
    return {
      status: 404,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      body: 'The metrics endpoint is off; set SYMFEED_METRICS_ENDPOINT=on to turn it on.\n',
    };
  }
  return {
    status: 200,
    headers: {
      'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
      'Cache-Control': 'no-store',
    },
    body: await prometheusText(),
  };
}

export const metricsEndpoint: FunctionDefinition = {
  kind: 'http',
  name: 'metrics',
  options: { methods: ['GET'], route: 'metrics', authLevel: 'anonymous', handler },
};
