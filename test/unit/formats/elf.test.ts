import { readFileSync } from 'node:fs';
import path from 'node:path';
import { otherFixtureHeads } from '../../support/fixtureKeys';
import { counting } from '../../support/countingSource';
import { FormatError, bufferSource } from '../../../shared/formats/byteSource';
import { elfKeyGenerator } from '../../../shared/formats/elf';

const ELF = path.join(__dirname, '../../fixtures/elf');
const MACHO = path.join(__dirname, '../../fixtures/macho');

interface Expected {
  readonly keys: readonly { key: string; convention: string }[];
  readonly identity?: readonly string[];
  readonly warns: boolean;
}

const expected = JSON.parse(readFileSync(path.join(ELF, 'expected-keys.json'), 'utf8')) as Record<
  string,
  Expected
>;
const fixture = (name: string): Buffer => readFileSync(path.join(ELF, name));

/** A copy of a fixture to damage. */
const copy = (name: string): Buffer => Buffer.from(fixture(name));

const keysOf = (bytes: Buffer, name = 'file') => elfKeyGenerator.keys(bufferSource(bytes), name);

async function rejects(bytes: Buffer, message: RegExp): Promise<void> {
  const error: unknown = await keysOf(bytes).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(message);
}

// Field offsets of the 64-bit ELF header and section header (gABI), for damaging the x86-64
// fixtures; all of them are little-endian.
const E_PHOFF = 32;
const E_SHOFF = 40;
const E_PHNUM = 56;
const E_SHENTSIZE = 58;
const E_SHNUM = 60;
const E_SHSTRNDX = 62;
const SH_OFFSET = 24;
const SH_SIZE = 32;

interface SectionHeader {
  readonly at: number;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

function sections64(bytes: Buffer): SectionHeader[] {
  const shoff = Number(bytes.readBigUInt64LE(E_SHOFF));
  return Array.from({ length: bytes.readUInt16LE(E_SHNUM) }, (_, index) => {
    const at = shoff + index * 64;
    return {
      at,
      type: bytes.readUInt32LE(at + 4),
      offset: Number(bytes.readBigUInt64LE(at + SH_OFFSET)),
      size: Number(bytes.readBigUInt64LE(at + SH_SIZE)),
    };
  });
}

/** The section holding the GNU build-id note: type SHT_NOTE, note type 3, owner "GNU". */
function buildIdSection(bytes: Buffer): SectionHeader {
  const found = sections64(bytes).find(
    (s) =>
      s.type === 7 &&
      bytes.readUInt32LE(s.offset + 8) === 3 &&
      bytes.toString('latin1', s.offset + 12, s.offset + 16) === 'GNU\0',
  );
  if (found === undefined) throw new Error('fixture without a build-id note section');
  return found;
}

describe('elfKeyGenerator on the fixtures', () => {
  it.each(Object.entries(expected))('keys %s as readelf says', async (name, want) => {
    const result = await elfKeyGenerator.keys(bufferSource(fixture(name)), name);
    expect(result.format).toBe('elf');
    expect(result.keys).toEqual(want.keys);
    expect(result.identity).toEqual(want.identity);
    expect(result.warnings.length > 0).toBe(want.warns);
  });

  it('reads headers and notes only, never the whole file', async () => {
    for (const name of Object.keys(expected)) {
      const source = counting(bufferSource(fixture(name)));
      await elfKeyGenerator.keys(source, name);
      expect(source.bytes).toBeLessThan(source.size);
    }
  });

  it('never reads the debug info of a debug file', async () => {
    const readelf = readFileSync(path.join(ELF, 'hello.debug.readelf.txt'), 'utf8');
    const [, off, size] = /\.debug_info +PROGBITS +\S+ ([0-9a-f]+) ([0-9a-f]+)/.exec(readelf) ?? [];
    const start = parseInt(off ?? '', 16);
    const end = start + parseInt(size ?? '', 16);
    expect(end).toBeGreaterThan(start);
    const inner = bufferSource(fixture('hello.debug'));
    const ranges: [number, number][] = [];
    await elfKeyGenerator.keys(
      {
        size: inner.size,
        read: (offset, length) => {
          ranges.push([offset, offset + length]);
          return inner.read(offset, length);
        },
      },
      'hello.debug',
    );
    expect(ranges.filter(([from, to]) => from < end && to > start)).toEqual([]);
  });

  it('pads a 16-byte md5 build-id with zeros to 20 bytes', async () => {
    const readelf = readFileSync(path.join(ELF, 'libgreet.so.readelf.txt'), 'utf8');
    const md5 = /Build ID: ([0-9a-f]+)/.exec(readelf)?.[1];
    expect(md5).toHaveLength(32);
    const result = await keysOf(fixture('libgreet.so'), 'libGreet.so');
    expect(result.identity).toEqual([`${md5}00000000`]);
    expect(result.keys).toEqual([
      {
        key: `libgreet.so/elf-buildid-${md5}00000000/libgreet.so`,
        convention: 'elf-buildid',
      },
    ]);
  });

  it('gives no key and a warning without a build-id', async () => {
    const result = await keysOf(fixture('hello-nobuildid'));
    expect(result.keys).toEqual([]);
    expect(result.identity).toBeUndefined();
    expect(result.warnings).toEqual([expect.stringMatching(/no GNU build-id/)]);
  });

  it.each([
    ['tiny-id4', /deadbeef is 4 bytes/],
    ['tiny-id24', /is 24 bytes/],
  ])('gives no key and a warning for the build-id of %s', async (name, warning) => {
    const result = await keysOf(fixture(name));
    expect(result.keys).toEqual([]);
    expect(result.warnings).toEqual([expect.stringMatching(warning)]);
  });

  it('shows only the start of a long build-id in its warning', async () => {
    const original = fixture('hello-nobuildid');
    const note = Buffer.alloc(16 + 100, 0xab);
    note.writeUInt32LE(4, 0);
    note.writeUInt32LE(100, 4);
    note.writeUInt32LE(3, 8);
    note.write('GNU\0', 12, 'latin1');
    const bytes = Buffer.concat([original, note]);
    const section = sections64(bytes).find((s) => s.type === 7);
    if (section === undefined) throw new Error('fixture without a note section');
    bytes.writeBigUInt64LE(BigInt(original.length), section.at + SH_OFFSET);
    bytes.writeBigUInt64LE(BigInt(note.length), section.at + SH_SIZE);
    const result = await keysOf(bytes);
    expect(result.keys).toEqual([]);
    expect(result.warnings).toEqual([
      `GNU build-id ${'ab'.repeat(32)}... is 100 bytes; a key needs 8 to 20`,
    ]);
  });

  it('names the file in lower case and ignores folders', async () => {
    const result = await keysOf(fixture('hello'), 'bin\\x64/HELLO');
    expect(result.keys[0]?.key).toMatch(/^hello\/elf-buildid-[0-9a-f]{40}\/hello$/);
  });

  it('finds the build-id in the program headers when the section table is gone', async () => {
    const bytes = copy('hello');
    bytes.writeBigUInt64LE(0n, E_SHOFF);
    bytes.writeUInt16LE(0, E_SHNUM);
    const result = await keysOf(bytes, 'hello');
    expect(result.keys).toEqual(expected.hello?.keys);
  });
});

describe('elfKeyGenerator.detect', () => {
  const head = (bytes: Buffer) => bytes.subarray(0, 64);

  it('detects no file in the other fixture folders', () => {
    const others = otherFixtureHeads('elf');
    // Zips, PE and PDB files, perf maps, and the other generator's ELF or Mach-O fixtures.
    expect(others.length).toBeGreaterThan(20);
    expect(
      others.filter(({ head }) => elfKeyGenerator.detect(head)).map(({ file }) => file),
    ).toEqual([]);
  });

  it.each(Object.keys(expected))('detects %s', (name) => {
    expect(elfKeyGenerator.detect(head(fixture(name)))).toBe(true);
  });

  it.each(['hello', 'hello-universal', 'libanswer32.dylib', 'answer.o', 'Hello.class', 'hello.c'])(
    'does not detect the Mach-O fixture folder file %s',
    (name) => {
      expect(elfKeyGenerator.detect(head(readFileSync(path.join(MACHO, name))))).toBe(false);
    },
  );

  it('does not detect a PE header, text, or bytes too short to tell', () => {
    expect(elfKeyGenerator.detect(Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'))).toBe(false);
    expect(elfKeyGenerator.detect(fixture('hello.c'))).toBe(false);
    expect(elfKeyGenerator.detect(Buffer.alloc(0))).toBe(false);
    expect(elfKeyGenerator.detect(fixture('hello').subarray(0, 4))).toBe(false);
  });

  it('does not detect an ELF magic with an unknown class or byte order', () => {
    const badClass = copy('hello').subarray(0, 64);
    badClass[4] = 3;
    const badData = copy('hello').subarray(0, 64);
    badData[5] = 0;
    expect(elfKeyGenerator.detect(badClass)).toBe(false);
    expect(elfKeyGenerator.detect(badData)).toBe(false);
  });
});

describe('elfKeyGenerator on damaged files', () => {
  it('rejects a file that is not ELF', async () => {
    await rejects(readFileSync(path.join(MACHO, 'hello')), /not an ELF file/);
    await rejects(Buffer.alloc(0), /not an ELF file/);
  });

  it('rejects a truncated 64-bit header', async () => {
    await rejects(fixture('hello').subarray(0, 40), /header truncated: 40 of 64/);
  });

  it('rejects a truncated 32-bit header', async () => {
    await rejects(fixture('hello-i686').subarray(0, 50), /header truncated: 50 of 52/);
  });

  it('rejects a section header table past the end of the file', async () => {
    const bytes = copy('hello');
    bytes.writeBigUInt64LE(BigInt(bytes.length - 10), E_SHOFF);
    await rejects(bytes, /section header table .* runs past the end/);
  });

  it('rejects an absurd section count', async () => {
    const bytes = copy('hello');
    bytes.writeUInt16LE(0xffff, E_SHNUM);
    await rejects(bytes, /section header table \(65535 entries at \d+\) runs past the end/);
  });

  it('rejects an absurd program header count', async () => {
    const bytes = copy('hello');
    bytes.writeBigUInt64LE(0n, E_SHOFF);
    bytes.writeUInt16LE(0xffff, E_PHNUM);
    await rejects(bytes, /program header table \(65535 entries at 64\) runs past the end/);
  });

  it('rejects a program header table past the end of the file', async () => {
    const bytes = copy('hello');
    bytes.writeBigUInt64LE(0n, E_SHOFF);
    bytes.writeBigUInt64LE(BigInt(bytes.length), E_PHOFF);
    await rejects(bytes, /program header table .* runs past the end/);
  });

  it('rejects section headers of the wrong size', async () => {
    const bytes = copy('hello');
    bytes.writeUInt16LE(40, E_SHENTSIZE);
    await rejects(bytes, /section header table entries are 40 bytes, not 64/);
  });

  it('rejects an offset beyond any file', async () => {
    const bytes = copy('hello');
    bytes.writeBigUInt64LE(0xffff_ffff_ffff_ffffn, E_SHOFF);
    await rejects(bytes, /0xffffffffffffffff is beyond any file/);
  });

  it('rejects a note section past the end of the file', async () => {
    const bytes = copy('hello');
    const { at } = buildIdSection(bytes);
    bytes.writeBigUInt64LE(BigInt(bytes.length - 8), at + SH_OFFSET);
    await rejects(bytes, /note section \d+ \(36 bytes at \d+\) runs past the end/);
  });

  it('rejects a note whose data size overflows its section', async () => {
    const bytes = copy('hello');
    const { offset } = buildIdSection(bytes);
    bytes.writeUInt32LE(0xffff_ffff, offset + 4);
    await rejects(bytes, /note at 0 of note section \d+ \(name 4 bytes, data 4294967295 bytes\)/);
  });

  it('rejects a note whose name size overflows its section', async () => {
    const bytes = copy('hello');
    const { offset } = buildIdSection(bytes);
    bytes.writeUInt32LE(0xffff_fff0, offset);
    await rejects(bytes, /name 4294967280 bytes, data 20 bytes\) runs past its end/);
  });

  it('stops reading notes after 1 MiB', async () => {
    // A note section of 2 MiB of zeros: a long run of empty notes, none of them the build-id.
    const original = fixture('hello-nobuildid');
    const bytes = Buffer.concat([original, Buffer.alloc(2 * 1024 * 1024)]);
    const note = sections64(bytes).find((s) => s.type === 7);
    if (note === undefined) throw new Error('fixture without a note section');
    bytes.writeBigUInt64LE(BigInt(original.length), note.at + SH_OFFSET);
    bytes.writeBigUInt64LE(BigInt(2 * 1024 * 1024), note.at + SH_SIZE);
    const source = counting(bufferSource(bytes));
    const error: unknown = await elfKeyGenerator.keys(source, 'big').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/notes larger than 1048576 bytes/);
    expect(source.bytes).toBeLessThan(64 * 1024);
  });

  it('rejects a section name table index beyond the section table', async () => {
    const bytes = copy('hello');
    bytes.writeUInt16LE(bytes.readUInt16LE(E_SHNUM), E_SHSTRNDX);
    await rejects(bytes, /section name table is section (\d+) of \1/);
  });

  it('rejects a section name table past the end of the file', async () => {
    const bytes = copy('hello.debug');
    const names = sections64(bytes)[bytes.readUInt16LE(E_SHSTRNDX)];
    if (names === undefined) throw new Error('fixture without a section name table');
    bytes.writeBigUInt64LE(BigInt(bytes.length), names.at + SH_OFFSET);
    await rejects(bytes, /section name table \(\d+ bytes at \d+\) runs past the end/);
  });

  it('rejects extended section numbering', async () => {
    const bytes = copy('hello');
    const [first] = sections64(bytes);
    if (first === undefined) throw new Error('fixture without sections');
    bytes.writeUInt16LE(0, E_SHNUM);
    bytes.writeBigUInt64LE(70_000n, first.at + SH_SIZE);
    await rejects(bytes, /extended section numbering/);
  });
});
