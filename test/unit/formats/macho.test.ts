import { readFileSync } from 'node:fs';
import path from 'node:path';
import { otherFixtureHeads } from '../../support/fixtureKeys';
import { counting } from '../../support/countingSource';
import { FormatError, bufferSource } from '../../../shared/formats/byteSource';
import { machoKeyGenerator } from '../../../shared/formats/macho';

const MACHO = path.join(__dirname, '../../fixtures/macho');
const ELF = path.join(__dirname, '../../fixtures/elf');

interface Expected {
  readonly keys: readonly { key: string; convention: string }[];
  readonly identity?: readonly string[];
  readonly warns: boolean;
}

const expected = JSON.parse(readFileSync(path.join(MACHO, 'expected-keys.json'), 'utf8')) as Record<
  string,
  Expected
>;
const fixture = (name: string): Buffer => readFileSync(path.join(MACHO, name));
const copy = (name: string): Buffer => Buffer.from(fixture(name));

const keysOf = (bytes: Buffer, name = 'file') => machoKeyGenerator.keys(bufferSource(bytes), name);

async function rejects(bytes: Buffer, message: RegExp): Promise<void> {
  const error: unknown = await keysOf(bytes).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(FormatError);
  expect((error as Error).message).toMatch(message);
}

/** The UUID llvm-objdump printed for a fixture, as the key convention writes it. */
function objdumpUuids(name: string): string[] {
  const text = readFileSync(path.join(MACHO, `${name}.objdump.txt`), 'utf8');
  return [...text.matchAll(/ uuid ([0-9A-F-]{36})/g)].map((m) =>
    (m[1] ?? '').replace(/-/g, '').toLowerCase(),
  );
}

// Mach-O header fields (mach-o/loader.h), little-endian in every linked fixture.
const NCMDS = 16;
const SIZEOFCMDS = 20;
const FIRST_COMMAND_64 = 32;

// Hand-made images, laid out as mach-o/loader.h and mach-o/fat.h describe them, for what no
// toolchain here produces: big-endian images and 64-bit universal headers.
const CPU_TYPE_POWERPC = 18;
const MH_EXECUTE = 2;
const MH_DSYM = 0xa;

interface Layout {
  readonly is64: boolean;
  readonly littleEndian: boolean;
}

function u32(value: number, { littleEndian }: Layout): Buffer {
  const b = Buffer.alloc(4);
  if (littleEndian) b.writeUInt32LE(value);
  else b.writeUInt32BE(value);
  return b;
}

function command(cmd: number, body: Buffer, layout: Layout): Buffer {
  return Buffer.concat([u32(cmd, layout), u32(8 + body.length, layout), body]);
}

const uuidCommand = (uuid: string, layout: Layout) =>
  command(0x1b, Buffer.from(uuid, 'hex'), layout);

function segmentCommand(name: string, layout: Layout): Buffer {
  const body = Buffer.alloc(layout.is64 ? 64 : 48);
  body.write(name, 0, 'latin1');
  return command(layout.is64 ? 0x19 : 0x1, body, layout);
}

function image(layout: Layout, fileType: number, commands: Buffer[]): Buffer {
  const magic = layout.is64 ? 0xfeedfacf : 0xfeedface;
  const cmds = Buffer.concat(commands);
  return Buffer.concat([
    u32(magic, layout),
    u32(layout.is64 ? CPU_TYPE_POWERPC | 0x01000000 : CPU_TYPE_POWERPC, layout),
    u32(0, layout),
    u32(fileType, layout),
    u32(commands.length, layout),
    u32(cmds.length, layout),
    u32(0, layout),
    ...(layout.is64 ? [u32(0, layout)] : []),
    cmds,
  ]);
}

/** A universal file of the slices, each at a 16-byte aligned offset. */
function fat(slices: Buffer[], is64 = false): Buffer {
  const entryBytes = is64 ? 32 : 20;
  const header = Buffer.alloc(8 + slices.length * entryBytes);
  header.writeUInt32BE(is64 ? 0xcafebabf : 0xcafebabe, 0);
  header.writeUInt32BE(slices.length, 4);
  const parts: Buffer[] = [header];
  let offset = header.length;
  slices.forEach((slice, index) => {
    const padding = (16 - (offset % 16)) % 16;
    parts.push(Buffer.alloc(padding), slice);
    offset += padding;
    const at = 8 + index * entryBytes;
    // The slice's own cputype, as a little-endian image (every linked fixture) states it.
    header.writeUInt32BE(slice.length >= 8 ? slice.readUInt32LE(4) : 0, at);
    if (is64) {
      header.writeBigUInt64BE(BigInt(offset), at + 8);
      header.writeBigUInt64BE(BigInt(slice.length), at + 16);
      header.writeUInt32BE(4, at + 24);
    } else {
      header.writeUInt32BE(offset, at + 8);
      header.writeUInt32BE(slice.length, at + 12);
      header.writeUInt32BE(4, at + 16);
    }
    offset += slice.length;
  });
  return Buffer.concat(parts);
}

const UUID = '00112233445566778899aabbccddeeff';
const BIG32: Layout = { is64: false, littleEndian: false };
const BIG64: Layout = { is64: true, littleEndian: false };
const LITTLE64: Layout = { is64: true, littleEndian: true };

describe('machoKeyGenerator on the fixtures', () => {
  it.each(Object.entries(expected))('keys %s as llvm-objdump says', async (name, want) => {
    const result = await machoKeyGenerator.keys(bufferSource(fixture(name)), name);
    expect(result.format).toBe('macho');
    expect(result.keys).toEqual(want.keys);
    expect(result.identity).toEqual(want.identity);
    expect(result.warnings.length > 0).toBe(want.warns);
  });

  it('reads headers and load commands only, never the whole file', async () => {
    for (const name of Object.keys(expected)) {
      const source = counting(bufferSource(fixture(name)));
      await machoKeyGenerator.keys(source, name);
      expect(source.bytes).toBeLessThan(source.size);
    }
  });

  it('never reads the __DWARF segment of a dwarf file', async () => {
    const objdump = readFileSync(path.join(MACHO, 'hello.dwarf.objdump.txt'), 'utf8');
    const [, off, size] =
      /segname __DWARF\n(?:.*\n){2} +fileoff (\d+)\n +filesize (\d+)/.exec(objdump) ?? [];
    const start = Number(off);
    const end = start + Number(size);
    expect(end).toBeGreaterThan(start);
    const inner = bufferSource(fixture('hello.dwarf'));
    const ranges: [number, number][] = [];
    await machoKeyGenerator.keys(
      {
        size: inner.size,
        read: (offset, length) => {
          ranges.push([offset, offset + length]);
          return inner.read(offset, length);
        },
      },
      'hello.dwarf',
    );
    expect(ranges.filter(([from, to]) => from < end && to > start)).toEqual([]);
  });

  it('keys every slice of a universal file under the whole file', async () => {
    const uuids = objdumpUuids('hello-universal');
    expect(uuids).toHaveLength(2);
    const result = await keysOf(fixture('hello-universal'), 'Hello-Universal');
    expect(result.identity).toEqual(uuids);
    expect(result.keys.map((k) => k.key)).toEqual(
      uuids.map((u) => `hello-universal/mach-uuid-${u}/hello-universal`),
    );
  });

  it('keys both slices of a universal dwarf file as symbol files', async () => {
    const result = await keysOf(fixture('hello-universal.dwarf'));
    expect(result.keys.map((k) => k.convention)).toEqual(['mach-uuid-sym', 'mach-uuid-sym']);
  });

  it('warns for each archive slice of a universal static library', async () => {
    const result = await keysOf(fixture('libanswer-universal.a'));
    expect(result.keys).toEqual([]);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^slice 1 of 2 .*static library/),
      expect.stringMatching(/^slice 2 of 2 .*static library/),
    ]);
  });

  it('gives no key and a warning for an object without LC_UUID', async () => {
    const result = await keysOf(fixture('answer.o'));
    expect(result.keys).toEqual([]);
    expect(result.warnings).toEqual([expect.stringMatching(/no LC_UUID/)]);
  });

  it('keys a 64-bit universal header (FAT_MAGIC_64) over real slices', async () => {
    const [exe] = objdumpUuids('hello');
    const [sym] = objdumpUuids('libanswer32.dylib.dwarf');
    const file = fat([fixture('hello'), fixture('libanswer32.dylib.dwarf')], true);
    expect(machoKeyGenerator.detect(file.subarray(0, 64))).toBe(true);
    const result = await keysOf(file, 'both');
    expect(result.keys).toEqual([
      { key: `both/mach-uuid-${exe}/both`, convention: 'mach-uuid' },
      { key: `_.dwarf/mach-uuid-sym-${sym}/_.dwarf`, convention: 'mach-uuid-sym' },
    ]);
  });

  it('keys slices with the same UUID once', async () => {
    const result = await keysOf(fat([fixture('hello'), fixture('hello')]), 'hello');
    expect(result.keys).toEqual(expected.hello?.keys);
    expect(result.identity).toEqual(expected.hello?.identity);
  });

  it('warns for a slice that is not Mach-O and keys the others', async () => {
    const elf = readFileSync(path.join(ELF, 'tiny-id8'));
    const result = await keysOf(fat([elf, fixture('hello')]), 'hello');
    expect(result.keys).toEqual(expected.hello?.keys);
    expect(result.warnings).toEqual([expect.stringMatching(/^slice 1 of 2 .*not a Mach-O image/)]);
  });
});

describe('machoKeyGenerator on hand-made big-endian images', () => {
  it('keys a 32-bit big-endian image (MH_MAGIC)', async () => {
    const file = image(BIG32, MH_EXECUTE, [
      segmentCommand('__TEXT', BIG32),
      uuidCommand(UUID, BIG32),
    ]);
    expect(file.readUInt32BE(0)).toBe(0xfeedface);
    expect(machoKeyGenerator.detect(file)).toBe(true);
    const result = await keysOf(file, 'Tool');
    expect(result).toEqual({
      format: 'macho',
      keys: [{ key: `tool/mach-uuid-${UUID}/tool`, convention: 'mach-uuid' }],
      warnings: [],
      identity: [UUID],
    });
  });

  it('keys a 64-bit big-endian image with a __DWARF segment as a symbol file', async () => {
    const file = image(BIG64, MH_EXECUTE, [
      uuidCommand(UUID, BIG64),
      segmentCommand('__DWARF', BIG64),
    ]);
    const result = await keysOf(file);
    expect(result.keys).toEqual([
      { key: `_.dwarf/mach-uuid-sym-${UUID}/_.dwarf`, convention: 'mach-uuid-sym' },
    ]);
  });

  it('keys an MH_DSYM image as a symbol file even without a __DWARF segment', async () => {
    const file = image(LITTLE64, MH_DSYM, [uuidCommand(UUID, LITTLE64)]);
    expect((await keysOf(file)).keys.map((k) => k.convention)).toEqual(['mach-uuid-sym']);
  });

  it('does not take a segment whose name only starts with __DWARF for one', async () => {
    const file = image(BIG64, MH_EXECUTE, [
      uuidCommand(UUID, BIG64),
      segmentCommand('__DWARFX', BIG64),
    ]);
    expect((await keysOf(file)).keys.map((k) => k.convention)).toEqual(['mach-uuid']);
  });
});

describe('machoKeyGenerator.detect', () => {
  const head = (bytes: Buffer) => bytes.subarray(0, 64);

  it('detects no file in the other fixture folders', () => {
    const others = otherFixtureHeads('macho');
    // Zips, PE and PDB files, perf maps, and the other generator's ELF or Mach-O fixtures.
    expect(others.length).toBeGreaterThan(20);
    expect(
      others.filter(({ head }) => machoKeyGenerator.detect(head)).map(({ file }) => file),
    ).toEqual([]);
  });

  it.each(Object.keys(expected))('detects %s', (name) => {
    expect(machoKeyGenerator.detect(head(fixture(name)))).toBe(true);
  });

  it.each(['hello', 'hello.debug', 'hello-i686', 'hello-ppc64', 'libgreet.so', 'hello.c'])(
    'does not detect the ELF fixture folder file %s',
    (name) => {
      expect(machoKeyGenerator.detect(head(readFileSync(path.join(ELF, name))))).toBe(false);
    },
  );

  it('does not detect a Java class file, which also starts with 0xcafebabe', async () => {
    const java = fixture('Hello.class');
    expect(java.readUInt32BE(0)).toBe(0xcafebabe);
    expect(machoKeyGenerator.detect(head(java))).toBe(false);
    await rejects(java, /announces 52 slices.*Java class file/);
  });

  it('does not detect universal headers with no slices or absurdly many', () => {
    const bytes = (count: number) => {
      const b = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0]);
      b.writeUInt32BE(count, 4);
      return b;
    };
    expect(machoKeyGenerator.detect(bytes(0))).toBe(false);
    expect(machoKeyGenerator.detect(bytes(10_000))).toBe(false);
    expect(machoKeyGenerator.detect(bytes(2))).toBe(true);
  });

  it('does not detect bytes too short to tell', () => {
    expect(machoKeyGenerator.detect(Buffer.alloc(0))).toBe(false);
    expect(machoKeyGenerator.detect(fixture('hello').subarray(0, 3))).toBe(false);
    expect(machoKeyGenerator.detect(fixture('hello-universal').subarray(0, 6))).toBe(false);
  });
});

describe('machoKeyGenerator on damaged files', () => {
  it('rejects a file that is not Mach-O', async () => {
    await rejects(readFileSync(path.join(ELF, 'hello')), /not a Mach-O file \(magic 0x7f454c46\)/);
    await rejects(Buffer.alloc(2), /not a Mach-O file: only 2 bytes/);
  });

  it('rejects a truncated header', async () => {
    await rejects(fixture('hello').subarray(0, 20), /header truncated: 20 of 32/);
    await rejects(fixture('libanswer32.dylib').subarray(0, 27), /header truncated: 27 of 28/);
  });

  it('rejects load commands that run past the end of the file', async () => {
    const bytes = copy('hello');
    bytes.writeUInt32LE(bytes.length, SIZEOFCMDS);
    await rejects(bytes, /load commands \(\d+ bytes\) run past the end/);
  });

  it('rejects load commands larger than 1 MiB without reading them', async () => {
    const bytes = copy('hello');
    bytes.writeUInt32LE(0xffff_ffff, SIZEOFCMDS);
    const source = counting(bufferSource(bytes));
    const error: unknown = await machoKeyGenerator.keys(source, 'hello').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/load commands of 4294967295 bytes/);
    expect(source.bytes).toBeLessThanOrEqual(36);
  });

  it('rejects an absurd load command count', async () => {
    const bytes = copy('hello');
    bytes.writeUInt32LE(0xffff_ffff, NCMDS);
    await rejects(bytes, /4294967295 Mach-O load commands cannot fit/);
  });

  it('rejects a load command of size 0 instead of looping', async () => {
    const bytes = copy('hello');
    bytes.writeUInt32LE(0, FIRST_COMMAND_64 + 4);
    await rejects(bytes, /load command 0 claims 0 bytes/);
  });

  it('rejects a load command that runs past the load commands', async () => {
    const bytes = copy('hello');
    bytes.writeUInt32LE(bytes.readUInt32LE(SIZEOFCMDS) + 8, FIRST_COMMAND_64 + 4);
    await rejects(bytes, /load command 0 claims \d+ bytes at 0 of \d+/);
  });

  it('rejects more load commands than the load command bytes hold', async () => {
    const file = image(BIG32, MH_EXECUTE, [uuidCommand(UUID, BIG32)]);
    file.writeUInt32BE(3, NCMDS);
    await rejects(file, /load command 1 of 3 starts past the 24 bytes/);
  });

  it('rejects an LC_UUID too short for a UUID', async () => {
    await rejects(
      image(BIG32, MH_EXECUTE, [uuidCommand('0011223344556677', BIG32)]),
      /LC_UUID of 16 bytes/,
    );
  });

  it('rejects two LC_UUIDs', async () => {
    const uuid = uuidCommand(UUID, LITTLE64);
    await rejects(image(LITTLE64, MH_EXECUTE, [uuid, uuid]), /more than one LC_UUID/);
  });

  it('rejects a segment command too short for its name', async () => {
    const short = command(0x19, Buffer.from('__DWA'), LITTLE64);
    await rejects(image(LITTLE64, MH_EXECUTE, [short]), /segment command of 13 bytes/);
  });

  it('rejects a universal header announcing 10,000 slices after reading 8 bytes', async () => {
    const bytes = Buffer.concat([fat([fixture('hello')]), Buffer.alloc(300_000)]);
    bytes.writeUInt32BE(10_000, 4);
    const source = counting(bufferSource(bytes));
    const error: unknown = await machoKeyGenerator.keys(source, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(
      /universal header announces 10000 slices, more than the 20/,
    );
    expect(source.bytes).toBeLessThanOrEqual(8);
  });

  it('rejects a universal file with no slices', async () => {
    await rejects(Buffer.from('cafebabe00000000', 'hex'), /no slices/);
  });

  it('rejects a truncated universal header', async () => {
    await rejects(fixture('hello-universal').subarray(0, 6), /universal header truncated: 6 of 8/);
    await rejects(
      fixture('hello-universal').subarray(0, 40),
      /universal header \(2 slices\) runs past/,
    );
  });

  it('rejects a slice past the end of the file', async () => {
    const bytes = copy('hello-universal');
    bytes.writeUInt32BE(bytes.length, 8 + 20 + 8);
    await rejects(bytes, /^slice 2 of 2 \(cputype 0x100000c\): \d+ bytes at \d+ run past the end/);
  });

  it('rejects a 64-bit slice offset beyond any file', async () => {
    const bytes = fat([fixture('hello')], true);
    bytes.writeBigUInt64BE(0xffff_ffff_ffff_ffffn, 8 + 8);
    await rejects(bytes, /^slice 1 of 1 .* run past the end/);
  });

  it('names the slice whose image is damaged', async () => {
    const broken = copy('hello');
    broken.writeUInt32LE(0, FIRST_COMMAND_64 + 4);
    await rejects(
      fat([fixture('hello'), broken]),
      /^slice 2 of 2 \(cputype 0x1000007\): Mach-O load command 0 claims 0/,
    );
  });
});
