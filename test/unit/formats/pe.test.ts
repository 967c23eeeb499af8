import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { counting } from '../../support/countingSource';
import { requireSharedFixtures, SHARED_PORTABLE_PDB } from '../../support/fixtureKeys';
import { bufferSource, FormatError, fileSource } from '../../../shared/formats/byteSource';
import { peKeyGenerator } from '../../../shared/formats/pe';

interface Expected {
  format: string;
  keys: string[];
  identity?: string[];
}

/** Third-party .NET assemblies; see ../shared/fixtures/README.md. */
const sharedFixtures = SHARED_PORTABLE_PDB;
requireSharedFixtures();

/** The fixtures built here and the .NET assemblies in ../shared, each with its oracle's keys. */
const folders = [
  {
    files: path.join(__dirname, '../../fixtures/pe'),
    oracle: path.join(__dirname, '../../fixtures/pe/expected-keys.json'),
  },
  {
    files: sharedFixtures,
    oracle: path.join(__dirname, '../../fixtures/portable-pdb-oracle/expected-keys.json'),
  },
];

const fixtures = folders.flatMap(({ files, oracle }) =>
  Object.entries(JSON.parse(readFileSync(oracle, 'utf8')) as Record<string, Expected>).map(
    ([name, expected]) => ({ name, file: path.join(files, name), expected }),
  ),
);
const peFixtures = fixtures.filter(({ expected }) => expected.format === 'pe');

const console64 = readFileSync(path.join(__dirname, '../../fixtures/pe/console64.exe'));
const lfanew = console64.readUInt32LE(0x3c);
const optionalHeader = lfanew + 24;

function patched(edit: (bytes: Buffer) => void, base = console64): Buffer {
  const bytes = Buffer.from(base);
  edit(bytes);
  return bytes;
}

async function formatError(bytes: Buffer): Promise<FormatError> {
  const outcome = await peKeyGenerator.keys(bufferSource(bytes), 'x.exe').then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(FormatError);
  return outcome as FormatError;
}

describe('PE key generator', () => {
  it.each(peFixtures.map((fixture) => [fixture.name, fixture] as const))(
    'keys %s as llvm-readobj says',
    async (_name, { file, name, expected }) => {
      const result = await peKeyGenerator.keys(bufferSource(readFileSync(file)), `lib/${name}`);
      expect(result).toEqual({
        format: 'pe',
        keys: expected.keys.map((key) => ({ key, convention: 'pe' })),
        warnings: [],
        identity: expected.identity,
      });
    },
  );

  it('covers PE32 and PE32+ images, executables and a DLL', () => {
    const names = peFixtures.map(({ name }) => name);
    expect(names).toEqual(
      expect.arrayContaining(['console64.exe', 'console32.exe', 'library.dll']),
    );
    expect(console64.readUInt16LE(optionalHeader)).toBe(0x20b);
    const console32 = readFileSync(path.join(__dirname, '../../fixtures/pe/console32.exe'));
    expect(console32.readUInt16LE(console32.readUInt32LE(0x3c) + 24)).toBe(0x10b);
  });

  it('keeps the leading zeros of a small timestamp and upper-cases it only in the identity', async () => {
    const library = readFileSync(path.join(__dirname, '../../fixtures/pe/library.dll'));
    const result = await peKeyGenerator.keys(bufferSource(library), 'Bin\\Library.DLL');
    expect(result.keys[0]?.key).toBe('library.dll/00abcdef3000/library.dll');
    expect(result.identity).toEqual(['00ABCDEF3000']);
  });

  it('reads a file on disk through ranged reads', async () => {
    const source = await fileSource(path.join(__dirname, '../../fixtures/pe/console32.exe'));
    try {
      const result = await peKeyGenerator.keys(source, 'console32.exe');
      expect(result.keys[0]?.key).toMatch(/^console32\.exe\/[0-9a-f]{8}[0-9a-f]+\/console32\.exe$/);
    } finally {
      await source.close();
    }
  });

  describe('detect', () => {
    it.each(fixtures.map((fixture) => [fixture.name, fixture] as const))(
      '%s',
      (_name, { file, expected }) => {
        const head = readFileSync(file).subarray(0, 64);
        expect(peKeyGenerator.detect(head)).toBe(expected.format === 'pe');
      },
    );

    it("claims none of the other formats' fixtures", () => {
      const root = path.join(__dirname, '../../fixtures');
      for (const folder of ['elf', 'macho', 'perfmap', 'zips']) {
        for (const name of readdirSync(path.join(root, folder))) {
          const head = readFileSync(path.join(root, folder, name)).subarray(0, 64);
          expect([folder, name, peKeyGenerator.detect(head)]).toEqual([folder, name, false]);
        }
      }
    });

    it('needs a whole DOS header', () => {
      expect(peKeyGenerator.detect(Buffer.from('MZ'))).toBe(false);
      expect(peKeyGenerator.detect(console64.subarray(0, 63))).toBe(false);
      expect(peKeyGenerator.detect(Buffer.alloc(0))).toBe(false);
    });

    it('refuses an e_lfanew the loader would refuse', () => {
      const head = patched((b) => b.writeUInt32LE(0x10000000, 0x3c)).subarray(0, 64);
      expect(peKeyGenerator.detect(head)).toBe(false);
    });

    it('checks the PE signature when e_lfanew points inside the bytes it is given', () => {
      const tiny = Buffer.alloc(64);
      tiny.write('MZ', 0, 'latin1');
      tiny.writeUInt32LE(0x40 - 8, 0x3c);
      expect(peKeyGenerator.detect(tiny)).toBe(false);
      tiny.write('PE\0\0', 0x40 - 8, 'latin1');
      expect(peKeyGenerator.detect(tiny)).toBe(true);
    });
  });

  describe('rejects malformed images with a FormatError', () => {
    it.each([0, 1, 2, 63])('a %i-byte file', async (length) => {
      expect((await formatError(console64.subarray(0, length))).message).toMatch(
        /shorter than the 64-byte DOS header/,
      );
    });

    it('a file that does not start with MZ', async () => {
      const bytes = patched((b) => b.write('ZM', 0, 'latin1'));
      expect((await formatError(bytes)).message).toMatch(/no "MZ" signature/);
    });

    it('e_lfanew past the end of the file', async () => {
      const bytes = patched((b) => b.writeUInt32LE(console64.length - 10, 0x3c));
      expect((await formatError(bytes)).message).toMatch(
        /e_lfanew 0x7f6 puts the PE header past the end of the 2048-byte file/,
      );
    });

    it('e_lfanew beyond what the loader allows', async () => {
      const bytes = patched((b) => b.writeUInt32LE(0xfffffff0, 0x3c));
      expect((await formatError(bytes)).message).toMatch(/e_lfanew 0xfffffff0 is beyond/);
    });

    it('an MS-DOS program without a PE header', async () => {
      const bytes = patched((b) => b.write('NE', lfanew, 'latin1'));
      expect((await formatError(bytes)).message).toMatch(/no "PE\\0\\0" signature at e_lfanew/);
    });

    it('a file cut off after the COFF header', async () => {
      expect((await formatError(console64.subarray(0, optionalHeader))).message).toMatch(
        /ends before the optional header/,
      );
    });

    it('a file cut off inside the section table', async () => {
      // Into the second of the three section headers that follow the 240-byte optional header.
      const cut = optionalHeader + 240 + 60;
      expect((await formatError(console64.subarray(0, cut))).message).toBe(
        `3 section headers run past the end of the ${cut}-byte file`,
      );
    });

    it('an unknown optional header magic (a ROM image)', async () => {
      const bytes = patched((b) => b.writeUInt16LE(0x107, optionalHeader));
      expect((await formatError(bytes)).message).toMatch(/magic 0x107 is neither PE32/);
    });

    it('an optional header too small for its fixed fields', async () => {
      const bytes = patched((b) => b.writeUInt16LE(100, lfanew + 4 + 16));
      expect((await formatError(bytes)).message).toMatch(
        /SizeOfOptionalHeader 100 is smaller than the 112 bytes of a PE32\+ optional header/,
      );
    });

    it('an absurd section count', async () => {
      const bytes = patched((b) => b.writeUInt16LE(0xffff, lfanew + 4 + 2));
      expect((await formatError(bytes)).message).toMatch(
        /65535 section headers run past the end of the 2048-byte file/,
      );
    });

    it('a section table outside SizeOfHeaders', async () => {
      const bytes = patched((b) => b.writeUInt32LE(0x100, optionalHeader + 60));
      expect((await formatError(bytes)).message).toMatch(/outside the 256 bytes of SizeOfHeaders/);
    });
  });

  it('reads only the headers, whatever the size of the file', async () => {
    const big = Buffer.concat([console64, Buffer.alloc(4 << 20)]);
    const source = counting(bufferSource(big));
    await peKeyGenerator.keys(source, 'big.exe');
    expect(source.bytes).toBeLessThan(256);
  });
});
