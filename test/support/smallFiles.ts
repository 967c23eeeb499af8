import { makeZip, symbolIndex } from './zips';

/** The inline limit the tests of inline files set, and settings under which every request is cold. */
export const INLINE_LIMIT = 4096;
export const COLD_SETTINGS = {
  SYMFEED_INLINE_FILE_BYTES: String(INLINE_LIMIT),
  SYMFEED_LOCATION_CACHE_SECONDS: '0',
  SYMFEED_MISS_CACHE_SECONDS: '0',
  SYMFEED_HOT_CACHE_BYTES: '0',
};

/** Files at and just above the limit, each mapped to the key `k-{name}`. */
export const smallFiles = {
  'deflated.txt': Buffer.from('a small deflated file\n'.repeat(150)),
  'stored.bin': Buffer.alloc(INLINE_LIMIT, 3),
  'above.bin': Buffer.alloc(INLINE_LIMIT + 1, 5),
};
export type SmallFile = keyof typeof smallFiles;

export function smallFilesPackage(): Promise<Buffer> {
  const names = Object.keys(smallFiles) as SmallFile[];
  return makeZip([
    {
      name: 'symbol_index.json',
      data: symbolIndex(names.map((name) => ({ clientKey: `k-${name}`, blobPath: name }))),
    },
    ...names.map((name) => ({ name, data: smallFiles[name], compress: name.endsWith('.txt') })),
  ]);
}
