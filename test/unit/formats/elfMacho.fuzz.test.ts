import { readFileSync } from 'node:fs';
import path from 'node:path';
import { counting } from '../../support/countingSource';
import fc from 'fast-check';
import { FormatError, bufferSource } from '../../../shared/formats/byteSource';
import { elfKeyGenerator } from '../../../shared/formats/elf';
import { KeyGenerator } from '../../../shared/formats/keyGenerator';
import { machoKeyGenerator } from '../../../shared/formats/macho';

/**
 * Damaged versions of the real fixtures: whatever the bytes say, a generator answers or throws
 * FormatError, at once, having read a bounded number of bytes.
 */

const FIXTURES = path.join(__dirname, '../../fixtures');

function load(folder: string): Buffer[] {
  const names = Object.keys(
    JSON.parse(readFileSync(path.join(FIXTURES, folder, 'expected-keys.json'), 'utf8')) as object,
  );
  return names.map((name) => readFileSync(path.join(FIXTURES, folder, name)));
}

const elfFiles = load('elf');
const machoFiles = [...load('macho'), readFileSync(path.join(FIXTURES, 'macho/Hello.class'))];

/**
 * What each generator may read at most from a file of `size` bytes. ELF: the header, the program
 * and section header tables and the section name table (each within the file), plus 1 MiB of
 * notes. Mach-O: the universal header and, for each of at most 20 slices, its header and load
 * commands (each within the file).
 */
const readBound: ReadonlyMap<KeyGenerator, (size: number) => number> = new Map([
  [elfKeyGenerator, (size: number) => 64 + 3 * size + 1024 * 1024],
  [machoKeyGenerator, (size: number) => 8 + size + 20 * (8 + 32 + size)],
]);

/** Values that make counts, sizes and offsets absurd, zero, or just off by one. */
const interesting = fc.constantFrom(
  0,
  1,
  7,
  8,
  0x7f,
  0xff,
  0xffff,
  0x7fff_ffff,
  0xffff_ffff,
  0x8000_0000,
);

/**
 * An edit at a position in the first 64 bytes (the file header), the first 4 KiB (load commands,
 * program headers, notes) or anywhere (ELF section tables sit at the end), given as a fraction of
 * the file. Nudges move a 32-bit field up or down by a little, which is how counts and sizes turn
 * subtly wrong rather than absurd.
 */
const edit = fc.record({
  position: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 63 }), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 4095 }), weight: 2 },
    { arbitrary: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), weight: 2 },
  ),
  kind: fc.constantFrom('byte', 'flip', 'u16le', 'u16be', 'u32le', 'u32be', 'nudgele', 'nudgebe'),
  value: fc.oneof(interesting, fc.integer({ min: 0, max: 0xffff_ffff })),
  delta: fc.integer({ min: -8, max: 8 }),
});

type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function apply(original: Buffer, edits: readonly Edit[], truncateAt: number | null): Buffer {
  const bytes = Buffer.from(original);
  for (const { position, kind, value, delta } of edits) {
    const at = Number.isInteger(position) ? position : Math.floor(position * bytes.length);
    const width = kind === 'byte' || kind === 'flip' ? 1 : kind.startsWith('u16') ? 2 : 4;
    // Fields are aligned, so aligned edits hit whole fields.
    const aligned = at - (at % width);
    if (aligned + width > bytes.length) continue;
    switch (kind) {
      case 'byte':
        bytes[aligned] = value & 0xff;
        break;
      case 'flip':
        bytes[aligned] = (bytes[aligned] ?? 0) ^ (1 << (value & 7));
        break;
      case 'u16le':
        bytes.writeUInt16LE(value & 0xffff, aligned);
        break;
      case 'u16be':
        bytes.writeUInt16BE(value & 0xffff, aligned);
        break;
      case 'u32le':
        bytes.writeUInt32LE(value >>> 0, aligned);
        break;
      case 'u32be':
        bytes.writeUInt32BE(value >>> 0, aligned);
        break;
      case 'nudgele':
        bytes.writeUInt32LE((bytes.readUInt32LE(aligned) + delta) >>> 0, aligned);
        break;
      case 'nudgebe':
        bytes.writeUInt32BE((bytes.readUInt32BE(aligned) + delta) >>> 0, aligned);
        break;
    }
  }
  return truncateAt === null ? bytes : bytes.subarray(0, Math.floor(truncateAt * bytes.length));
}

async function check(generator: KeyGenerator, bytes: Buffer): Promise<void> {
  expect(typeof generator.detect(bytes.subarray(0, 64))).toBe('boolean');
  const source = counting(bufferSource(bytes));
  const started = performance.now();
  try {
    const result = await generator.keys(source, 'Fuzzed.File');
    expect(result.format).toBe(generator.format);
    for (const { key } of result.keys) expect(key).toBe(key.toLowerCase());
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
  }
  expect(performance.now() - started).toBeLessThan(500);
  expect(source.bytes).toBeLessThanOrEqual(readBound.get(generator)?.(bytes.length) ?? 0);
}

const damaged = (files: Buffer[]) =>
  fc.record({
    file: fc.constantFrom(...files),
    edits: fc.array(edit, { maxLength: 12 }),
    truncateAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })),
  });

describe.each([
  ['elf', elfKeyGenerator, elfFiles],
  ['macho', machoKeyGenerator, machoFiles],
])('%s key generator on damaged fixtures', (_, generator, files) => {
  it('answers or throws FormatError, quickly, with bounded reads', async () => {
    await fc.assert(
      fc.asyncProperty(damaged(files), async ({ file, edits, truncateAt }) => {
        await check(generator, apply(file, edits, truncateAt));
      }),
      { numRuns: 4000 },
    );
  });

  it("survives the other format's damaged fixtures", async () => {
    const others = generator === elfKeyGenerator ? machoFiles : elfFiles;
    await fc.assert(
      fc.asyncProperty(damaged(others), async ({ file, edits, truncateAt }) => {
        await check(generator, apply(file, edits, truncateAt));
      }),
      { numRuns: 300 },
    );
  });
});
