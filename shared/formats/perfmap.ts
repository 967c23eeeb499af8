import { ByteSource, FormatError } from './byteSource';
import { KeyGenerator, keyFileName } from './keyGenerator';

/**
 * ReadyToRun perfmaps (dotnet/runtime docs/design/coreclr/botr/r2r-perfmap-format.md) are text:
 * one "RVA Length Name" record per line, hex RVA and length. The first records are pseudo-records
 * at reserved RVAs with length 0: the output signature (16 bytes, hex) at FFFFFFFF, then the format
 * version at FFFFFFFE.
 */
const SIGNATURE_RVA = 0xffffffff;
const VERSION_RVA = 0xfffffffe;
const SIGNATURE_HEX_DIGITS = 32;
/** The two header lines are short; reading a little more than they can need bounds the work. */
const HEADER_BYTES = 256;

const headerLine = /^([0-9A-Fa-f]{1,8})[ \t]+([0-9A-Fa-f]{1,4})[ \t]+(\S+)\r?$/;

function parseRecord(line: string | undefined, rva: number, what: string): string {
  const match = line === undefined ? null : headerLine.exec(line);
  if (
    !match ||
    Number.parseInt(match[1] ?? '', 16) !== rva ||
    Number.parseInt(match[2] ?? '', 16) !== 0
  ) {
    throw new FormatError(
      `the perfmap's ${what} record (RVA ${rva.toString(16).toUpperCase()}) is missing or malformed`,
    );
  }
  return match[3] ?? '';
}

export const perfmapKeyGenerator: KeyGenerator = {
  format: 'perfmap',

  detect(head) {
    return /^FFFFFFFF[ \t]+0+[ \t]+[0-9A-Fa-f]{32}\r?\n/i.test(head.toString('latin1'));
  },

  async keys(source: ByteSource, fileName: string) {
    const head = await source.read(0, Math.min(source.size, HEADER_BYTES));
    const [first, second] = head.toString('latin1').split('\n');
    const signature = parseRecord(first, SIGNATURE_RVA, 'signature');
    const version = parseRecord(second, VERSION_RVA, 'version');
    if (signature.length !== SIGNATURE_HEX_DIGITS || !/^[0-9a-f]+$/i.test(signature)) {
      throw new FormatError('the perfmap signature is not 16 bytes of hex');
    }
    if (!/^\d{1,9}$/.test(version))
      throw new FormatError(`the perfmap version "${version}" is not a number`);
    const name = keyFileName(fileName);
    const warnings =
      Number(version) > 1
        ? [`perfmap format version ${version} is newer than the version 1 symfeed knows`]
        : [];
    return {
      format: 'perfmap',
      keys: [
        {
          key: `${name}/r2rmap-v${Number(version)}-${signature.toLowerCase()}/${name}`,
          convention: 'r2rmap',
        },
      ],
      warnings,
    };
  },
};
