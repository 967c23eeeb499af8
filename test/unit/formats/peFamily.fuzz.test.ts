import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { counting } from '../../support/countingSource';
import { performance } from 'node:perf_hooks';
import { bufferSource, FormatError } from '../../../shared/formats/byteSource';
import { KeyGenerator } from '../../../shared/formats/keyGenerator';
import { pdbKeyGenerator } from '../../../shared/formats/pdb';
import { peKeyGenerator } from '../../../shared/formats/pe';
import { portablePdbKeyGenerator } from '../../../shared/formats/portablePdb';

const peFolder = path.join(__dirname, '../../fixtures/pe');
const sharedFolder = path.join(__dirname, '../../../../shared/fixtures/portable-pdb');

/**
 * How many bytes one run may read. PE: a few headers. Windows PDB: every page the parser reads
 * it first claims, and no page twice, so never more than the file. Portable PDB: the root and at
 * most 64 stream headers.
 */
const budgets: ReadonlyMap<KeyGenerator, (size: number) => number> = new Map([
  [peKeyGenerator, () => 256],
  [pdbKeyGenerator, (size: number) => size],
  [portablePdbKeyGenerator, () => 4096],
]);
const MAX_READS = 1000;

const candidates: [string, string, KeyGenerator][] = [
  [peFolder, 'console64.exe', peKeyGenerator],
  [peFolder, 'console32.exe', peKeyGenerator],
  [peFolder, 'library.dll', peKeyGenerator],
  [peFolder, 'console64.pdb', pdbKeyGenerator],
  [peFolder, 'ages.pdb', pdbKeyGenerator],
  [peFolder, 'manystreams.pdb', pdbKeyGenerator],
  [sharedFolder, 'NullConst.dll', peKeyGenerator],
  [sharedFolder, 'NullConst.pdb', portablePdbKeyGenerator],
  [sharedFolder, 'DocumentsTestTarget.pdb', portablePdbKeyGenerator],
];

interface Target {
  name: string;
  bytes: Buffer;
  generator: KeyGenerator;
  /** The offsets the clean parse read: mutations aimed there reach the parser's decisions. */
  hot: number[];
}

async function target([folder, name, generator]: [string, string, KeyGenerator]): Promise<Target> {
  const bytes = readFileSync(path.join(folder, name));
  const hot: number[] = [];
  const source = bufferSource(bytes);
  await generator.keys(
    {
      size: source.size,
      read(offset, length) {
        for (let i = offset; i < offset + length; i += 1) hot.push(i);
        return source.read(offset, length);
      },
    },
    name,
  );
  return { name, bytes, generator, hot };
}

const interesting = [
  0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];

const edit = fc.record({
  hot: fc.boolean(),
  at: fc.nat(),
  word: fc.boolean(),
  value: fc.oneof(fc.nat(0xff), fc.constantFrom(...interesting), fc.nat()),
});

function mutate(
  { bytes, hot }: Target,
  edits: { hot: boolean; at: number; word: boolean; value: number }[],
  cut: number | null,
): Buffer {
  const mutated = Buffer.from(bytes);
  for (const change of edits) {
    const at =
      change.hot && hot.length > 0 ? (hot[change.at % hot.length] ?? 0) : change.at % bytes.length;
    if (change.word) {
      const aligned = at - (at % 4);
      if (aligned + 4 <= mutated.length) mutated.writeUInt32LE(change.value >>> 0, aligned);
    } else {
      mutated[at] = change.value & 0xff;
    }
  }
  return cut === null ? mutated : mutated.subarray(0, cut % (mutated.length + 1));
}

describe('PE, PDB and portable PDB parsers on mutated real files', () => {
  let targets: Target[] = [];

  beforeAll(async () => {
    targets = await Promise.all(candidates.map(target));
  });

  it('resolve or reject with a FormatError, quickly, reading a bounded number of bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(edit, { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { freq: 4 }),
        async (pick, edits, cut) => {
          const chosen = targets[pick % targets.length];
          if (!chosen) throw new Error('no fixtures');
          const mutated = mutate(chosen, edits, cut);
          const head = mutated.subarray(0, 64);
          for (const generator of budgets.keys())
            expect(typeof generator.detect(head)).toBe('boolean');

          const source = counting(bufferSource(mutated));
          const started = performance.now();
          const outcome = await chosen.generator.keys(source, chosen.name).then(
            () => undefined,
            (error: unknown) => error,
          );
          if (outcome !== undefined) expect(outcome).toBeInstanceOf(FormatError);
          expect(performance.now() - started).toBeLessThan(1000);
          expect(source.reads).toBeLessThanOrEqual(MAX_READS);
          expect(source.bytes).toBeLessThanOrEqual(
            budgets.get(chosen.generator)?.(mutated.length) ?? 0,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});
