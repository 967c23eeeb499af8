import { parseSettings } from '../../shared/config/settings';

describe('parseSettings', () => {
  it('applies defaults', () => {
    const settings = parseSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(settings.SYMFEED_MAX_ENTRIES).toBe(100_000);
    expect(settings.SYMFEED_LOCATION_CACHE_SECONDS).toBe(30);
    expect(settings.SYMFEED_INLINE_FILE_BYTES).toBe(16 * 1024);
  });

  it('refuses an inline file size over what a table property holds', () => {
    const storage = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    expect(
      parseSettings({ ...storage, SYMFEED_INLINE_FILE_BYTES: '0' }).SYMFEED_INLINE_FILE_BYTES,
    ).toBe(0);
    expect(() => parseSettings({ ...storage, SYMFEED_INLINE_FILE_BYTES: '65537' })).toThrow(
      /setting SYMFEED_INLINE_FILE_BYTES is invalid .*at most 65536/,
    );
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

describe('SYMFEED_PUBLIC_URL', () => {
  const storage = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

  it('takes an absolute http(s) URL, with a path, without its trailing slash', () => {
    expect(
      parseSettings({ ...storage, SYMFEED_PUBLIC_URL: 'https://symbols.example.com/sym/' })
        .SYMFEED_PUBLIC_URL,
    ).toBe('https://symbols.example.com/sym');
    expect(parseSettings(storage).SYMFEED_PUBLIC_URL).toBeUndefined();
  });

  it.each([
    'symbols.example.com',
    'ftp://symbols.example.com',
    'https://x.example/?a=1',
    'https://u:p@x.example',
  ])('refuses %s', (url) => {
    expect(() => parseSettings({ ...storage, SYMFEED_PUBLIC_URL: url })).toThrow(
      'setting SYMFEED_PUBLIC_URL is invalid (must be an absolute http or https URL such as https://symbols.example.com)',
    );
  });

  it('is required in Azure, where the Host header must not make the links', () => {
    for (const marker of ['WEBSITE_INSTANCE_ID', 'WEBSITE_SITE_NAME']) {
      expect(() => parseSettings({ ...storage, [marker]: 'x' })).toThrow(
        /setting SYMFEED_PUBLIC_URL is not set \(in Azure/,
      );
    }
    expect(
      parseSettings({ ...storage, WEBSITE_SITE_NAME: 'x', SYMFEED_PUBLIC_URL: 'https://a.example' })
        .SYMFEED_PUBLIC_URL,
    ).toBe('https://a.example');
  });
});
