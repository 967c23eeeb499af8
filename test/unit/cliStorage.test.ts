import { runCli } from '../support/cli';

/** The symfeed command reads the storage settings as npm start does, and says what is wrong. */
const STORAGE_SETTINGS = ['AzureWebJobsStorage', 'AzureWebJobsStorage__blobServiceUri'];
let saved: Record<string, string | undefined>;

beforeEach(() => {
  saved = Object.fromEntries(STORAGE_SETTINGS.map((name) => [name, process.env[name]]));
});
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

it('names the storage settings that are missing, and touches no storage', async () => {
  delete process.env.AzureWebJobsStorage;
  process.env.AzureWebJobsStorage__blobServiceUri = 'https://acct.blob.core.windows.net';
  const result = await runCli('feed', 'list');
  expect(result.code).toBe(1);
  expect(result.text).toContain(
    'error: the storage settings are wrong: setting AzureWebJobsStorage__queueServiceUri is not set',
  );
  expect(result.text).toContain('setting AzureWebJobsStorage__tableServiceUri is not set');
});
