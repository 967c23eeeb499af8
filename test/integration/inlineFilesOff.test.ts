import { CountedStack, startCountedStack } from '../support/countedStack';
import { COLD_SETTINGS, SmallFile, smallFiles, smallFilesPackage } from '../support/smallFiles';

/** SYMFEED_INLINE_FILE_BYTES=0: no file goes into its key rows, each is read from its package. */
let counted: CountedStack;

beforeAll(async () => {
  counted = await startCountedStack({ ...COLD_SETTINGS, SYMFEED_INLINE_FILE_BYTES: '0' });
  await counted.stack.upload('small.zip', await smallFilesPackage());
  expect((await counted.stack.indexed('small.zip')).state).toBe('succeeded');
});
afterAll(() => counted?.stop());

it('reads every file from its package when inline files are off', async () => {
  for (const name of Object.keys(smallFiles) as SmallFile[]) {
    expect(await counted.get(`k-${name}`)).toEqual({
      status: 200,
      body: smallFiles[name],
      blobReads: 1,
    });
  }
});
