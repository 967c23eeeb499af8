import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { deriveKeys } from '../shared/formats/deriveKeys';
import { SYMBOL_INDEX_NAME } from '../shared/index/symbolIndex';
import { folderFiles } from './files';
import { CliError, Output } from './output';

/**
 * `symfeed pack <dir> -o <package.zip>`: a symbol package holding every file of the folder and a
 * symbol_index.json that maps each derived key to its file, so that any package-based symbol
 * server serves them, symfeed's derivation or not.
 */
export async function packCommand(folder: string, output: string, out: Output): Promise<number> {
  const files = await folderFiles(folder).catch(() => {
    throw new CliError(`${folder}: not a folder that can be read`);
  });
  if (files.some((file) => file.name === SYMBOL_INDEX_NAME)) {
    throw new CliError(`${folder} already holds a ${SYMBOL_INDEX_NAME}; pack writes its own`);
  }
  const derived = await deriveKeys(files);
  for (const warning of derived.warnings) out.warn(warning);
  if (derived.keys.length === 0)
    throw new CliError(`no file in ${folder} gives a key; nothing to pack`);

  const zip = new yazl.ZipFile();
  const index = derived.keys.map(({ key, file }) => ({ clientKey: key, blobPath: file }));
  zip.addBuffer(Buffer.from(JSON.stringify(index, null, 2)), SYMBOL_INDEX_NAME);
  for (const file of files) zip.addFile(file.path, file.name);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(output));
  return derived.keys.length;
}
