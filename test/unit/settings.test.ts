import { parseSettings } from '../../shared/config/settings';

describe('parseSettings', () => {
  it('applies defaults', () => {
    const settings = parseSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(settings.SYMFEED_MAX_ENTRIES).toBe(100_000);
    expect(settings.SYMFEED_LOCATION_CACHE_SECONDS).toBe(30);
  });

  it('names a missing setting', () => {
    expect(() => parseSettings({})).toThrow(
      'symfeed cannot start: setting AzureWebJobsStorage is not set',
    );
  });

  it('names a bad setting and what is wrong with it', () => {
    expect(() =>
      parseSettings({
        AzureWebJobsStorage: 'x',
        SYMFEED_MAX_ENTRIES: 'lots',
        SYMFEED_MISS_CACHE_SECONDS: '-1',
      }),
    ).toThrow(
      /setting SYMFEED_MAX_ENTRIES is invalid .*; setting SYMFEED_MISS_CACHE_SECONDS is invalid/,
    );
  });
});
