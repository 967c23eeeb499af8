import { metricsEndpoint } from '../../functions/metrics';
import { parseSettings } from '../../shared/config/settings';

const storage = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
const azure = { ...storage, WEBSITE_SITE_NAME: 'symfeed', SYMFEED_PUBLIC_URL: 'https://a.example' };

describe('SYMFEED_METRICS_ENDPOINT', () => {
  it('is on by default outside Azure and off on Azure', () => {
    expect(parseSettings(storage).SYMFEED_METRICS_ENDPOINT).toBe('on');
    expect(parseSettings(azure).SYMFEED_METRICS_ENDPOINT).toBe('off');
  });

  it('is what the operator says, on Azure too', () => {
    expect(
      parseSettings({ ...azure, SYMFEED_METRICS_ENDPOINT: 'on' }).SYMFEED_METRICS_ENDPOINT,
    ).toBe('on');
    expect(
      parseSettings({ ...storage, SYMFEED_METRICS_ENDPOINT: 'off' }).SYMFEED_METRICS_ENDPOINT,
    ).toBe('off');
  });

  it('names the setting when it is neither on nor off', () => {
    expect(() => parseSettings({ ...storage, SYMFEED_METRICS_ENDPOINT: 'yes' })).toThrow(
      'setting SYMFEED_METRICS_ENDPOINT is invalid (must be on or off)',
    );
  });

  it('makes GET /metrics answer 404, saying how to turn it on, when off', async () => {
    Object.assign(process.env, { ...storage, SYMFEED_METRICS_ENDPOINT: 'off' });
    if (metricsEndpoint.kind !== 'http') throw new Error('GET /metrics is an HTTP function');
    const response = await metricsEndpoint.options.handler(
      {} as Parameters<typeof metricsEndpoint.options.handler>[0],
      {} as Parameters<typeof metricsEndpoint.options.handler>[1],
    );
    expect(response).toMatchObject({
      status: 404,
      body: expect.stringContaining('set SYMFEED_METRICS_ENDPOINT=on') as unknown,
    });
  });
});
