import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { requireSharedFixtures, SHARED_PORTABLE_PDB } from '../../support/fixtureKeys';
import { bufferSource, FormatError, fileSource } from '../../../shared/formats/byteSource';
import { portablePdbKeyGenerator } from '../../../shared/formats/portablePdb';

interface Expected {
  format: string;
  keys: string[];
}

/** Third-party .NET assemblies and their portable PDBs; see ../shared/fixtures/README.md. */
const sharedFixtures = SHARED_PORTABLE_PDB;
requireSharedFixtures();
const expected = JSON.parse(
  readFileSync(
    path.join(__dirname, '../../fixtures/portable-pdb-oracle/expected-keys.json'),
    'utf8',
  ),
) as Record<string, Expected>;
const shared = (name: string) => readFileSync(path.join(sharedFixtures, name));
const portableNames = Object.keys(expected).filter(
  (name) => expected[name]?.format === 'portable-pdb',
);

const GUID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

interface Stream {
  name: string;
  data: Buffer;
}

/** A metadata root as Roslyn writes one: header, version string, stream headers, stream data. */
function metadata(streams: Stream[], version = 'PDB v1.0'): Buffer {
  const versionBytes = Math.ceil((version.length + 1) / 4) * 4;
  const headerBytes = (name: string) => 8 + Math.ceil((name.length + 1) / 4) * 4;
  const root = Buffer.alloc(
    16 + versionBytes + 4 + streams.reduce((n, s) => n + headerBytes(s.name), 0),
  );
  root.write('BSJB', 0, 'latin1');
  root.writeUInt16LE(1, 4);
  root.writeUInt16LE(1, 6);
  root.writeUInt32LE(versionBytes, 12);
  root.write(version, 16, 'latin1');
  root.writeUInt16LE(streams.length, 16 + versionBytes + 2);
  let header = 16 + versionBytes + 4;
  let data = root.length;
  for (const { name, data: bytes } of streams) {
    root.writeUInt32LE(data, header);
    root.writeUInt32LE(bytes.length, header + 4);
    root.write(name, header + 8, 'latin1');
    header += headerBytes(name);
    data += bytes.length;
  }
  return Buffer.concat([root, ...streams.map((s) => s.data)]);
}

function pdbStream(): Buffer {
  const bytes = Buffer.alloc(32);
  GUID.copy(bytes, 0);
  bytes.writeUInt32LE(0x01020304, 16);
  return bytes;
}

const wellFormed = () =>
  metadata([
    { name: '#Pdb', data: pdbStream() },
    { name: '#~', data: Buffer.alloc(24) },
    { name: '#Strings', data: Buffer.alloc(8) },
  ]);
/** Where the first stream header starts in wellFormed(): after 16 + 12 + 4 bytes of root. */
const FIRST_HEADER = 32;

async function formatError(bytes: Buffer): Promise<string> {
  const result = await portablePdbKeyGenerator.keys(bufferSource(bytes), 'x.pdb').then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(result).toBeInstanceOf(FormatError);
  return (result as FormatError).message;
}

describe('portable PDB key generator', () => {
  describe('on the portable PDBs in ../shared/fixtures', () => {
    it.each(portableNames)("keys %s by its assembly's CodeView entry", async (name) => {
      const result = await portablePdbKeyGenerator.keys(bufferSource(shared(name)), `lib/${name}`);
      expect(result).toEqual({
        format: 'portable-pdb',
        keys: expected[name]?.keys.map((key) => ({ key, convention: 'portable-pdb' })),
        warnings: [],
      });
    });

    it('reads a file on disk', async () => {
      const source = await fileSource(path.join(sharedFixtures, 'NullConst.pdb'));
      try {
        const result = await portablePdbKeyGenerator.keys(source, 'NullConst.pdb');
        expect(result.keys[0]?.key).toBe(expected['NullConst.pdb']?.keys[0]);
      } finally {
        await source.close();
      }
    });

    it.each(Object.keys(expected))('detects %s by content', (name) => {
      expect(portablePdbKeyGenerator.detect(shared(name).subarray(0, 64))).toBe(
        expected[name]?.format === 'portable-pdb',
      );
    });

    it('rejects every truncation of a real one', async () => {
      const bytes = shared('DocumentsTestTarget.pdb');
      for (const length of [0, 19, 30, 40, 100, 0x7c + 16]) {
        await formatError(bytes.subarray(0, length));
      }
    });
  });

  it('keys a metadata root whichever stream comes first', async () => {
    const bytes = metadata([
      { name: '#~', data: Buffer.alloc(24) },
      { name: '#Strings', data: Buffer.alloc(8) },
      { name: '#Pdb', data: pdbStream() },
    ]);
    const result = await portablePdbKeyGenerator.keys(bufferSource(bytes), 'Dir/My.PDB');
    expect(result.keys).toEqual([
      {
        key: 'my.pdb/33221100554477668899aabbccddeeffffffffff/my.pdb',
        convention: 'portable-pdb',
      },
    ]);
  });

  it("claims none of the other formats' fixtures", () => {
    const root = path.join(__dirname, '../../fixtures');
    for (const folder of ['elf', 'macho', 'perfmap', 'zips']) {
      for (const name of readdirSync(path.join(root, folder))) {
        const head = readFileSync(path.join(root, folder, name)).subarray(0, 64);
        expect([folder, name, portablePdbKeyGenerator.detect(head)]).toEqual([folder, name, false]);
      }
    }
  });

  it('does not claim Windows PDBs or PE images', () => {
    for (const name of ['ages.pdb', 'console64.exe', 'library.dll']) {
      const head = readFileSync(path.join(__dirname, '../../fixtures/pe', name)).subarray(0, 64);
      expect(portablePdbKeyGenerator.detect(head)).toBe(false);
    }
    expect(portablePdbKeyGenerator.detect(Buffer.from('BSJ'))).toBe(false);
  });

  describe('rejects malformed metadata with a FormatError', () => {
    const patched = (edit: (bytes: Buffer) => void) => {
      const bytes = wellFormed();
      edit(bytes);
      return bytes;
    };

    it.each([0, 4, 19])('a %i-byte file', async (length) => {
      expect(await formatError(wellFormed().subarray(0, length))).toMatch(
        /too short for a metadata root/,
      );
    });

    it('a version string longer than the format allows', async () => {
      expect(await formatError(patched((b) => b.writeUInt32LE(0x10000, 12)))).toBe(
        'the version string claims 65536 bytes; at most 256 are allowed',
      );
    });

    it('a version string that runs past the end of the file', async () => {
      const bytes = wellFormed().subarray(0, 40);
      bytes.writeUInt32LE(252, 12);
      expect(await formatError(bytes)).toMatch(/ends inside the metadata root/);
    });

    it('an absurd stream count', async () => {
      expect(await formatError(patched((b) => b.writeUInt16LE(0xffff, FIRST_HEADER - 2)))).toBe(
        'the metadata root claims 65535 streams; at most 64 make sense',
      );
    });

    it('stream headers that run past the end of the file', async () => {
      expect(await formatError(patched((b) => b.writeUInt16LE(40, FIRST_HEADER - 2)))).toMatch(
        /stream header \d+ of 40 runs past the end of the file/,
      );
    });

    it('a stream name without its NUL', async () => {
      const bytes = metadata([{ name: '#Pdb', data: pdbStream() }]).subarray(0, FIRST_HEADER + 12);
      expect(await formatError(bytes)).toMatch(/stream header 0 has no NUL-terminated name/);
    });

    it('a stream name longer than 32 characters', async () => {
      const bytes = metadata([
        { name: '#'.repeat(40), data: Buffer.alloc(4) },
        { name: '#Pdb', data: pdbStream() },
      ]);
      expect(await formatError(bytes)).toMatch(/at most 32 characters/);
    });

    it("an assembly's metadata, without a #Pdb stream", async () => {
      const bytes = metadata([{ name: '#~', data: Buffer.alloc(24) }], 'v4.0.30319');
      expect(await formatError(bytes)).toMatch(/without a #Pdb stream/);
    });

    it('two #Pdb streams', async () => {
      const bytes = metadata([
        { name: '#Pdb', data: pdbStream() },
        { name: '#Pdb', data: pdbStream() },
      ]);
      expect(await formatError(bytes)).toBe('the metadata root lists two #Pdb streams');
    });

    it('a #Pdb stream too short for its header', async () => {
      const bytes = metadata([{ name: '#Pdb', data: Buffer.alloc(20) }]);
      expect(await formatError(bytes)).toBe(
        'the #Pdb stream is 20 bytes, too short for its header',
      );
    });

    it.each([
      ['offset', 0, 0xfffffff0],
      ['size', 4, 0x7fffffff],
    ])('a #Pdb stream whose %s points past the end of the file', async (_label, field, value) => {
      const bytes = patched((b) => b.writeUInt32LE(value, FIRST_HEADER + field));
      expect(await formatError(bytes)).toMatch(/the #Pdb stream \(.*\) runs past the end of the/);
    });
  });
});
