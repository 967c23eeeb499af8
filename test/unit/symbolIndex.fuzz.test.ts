import fc from 'fast-check';
import { z } from 'zod';
import { normaliseClientKey } from '../../shared/keys/clientKey';
import { parseSymbolIndex, SymbolIndex } from '../../shared/index/symbolIndex';

/**
 * The reading that parsed the whole text at once, as symfeed did before it read indexes piece by
 * piece: the incremental reader must judge every document the same way.
 */
function wholeText(text: string): SymbolIndex {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return {
      ok: false,
      reason: `symbol_index.json is not valid JSON: ${(error as Error).message}`,
    };
  }
  const schema = z.array(
    z.object({
      clientKey: z.string().min(1, 'clientKey must be a non-empty string'),
      blobPath: z.string().min(1, 'blobPath must be a non-empty string'),
    }),
  );
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => {
        const where = issue.path.length > 0 ? `element ${issue.path.join('.')}` : 'the document';
        return `${where}: ${issue.message}`;
      })
      .join('; ');
    return {
      ok: false,
      reason: `symbol_index.json must be an array of {"clientKey": string, "blobPath": string}: ${issues}`,
    };
  }
  const mappings = [];
  const rejected = [];
  const firstIndex = new Map<string, number>();
  for (const [index, { clientKey, blobPath }] of parsed.data.entries()) {
    const check = normaliseClientKey(clientKey);
    if (!check.ok) {
      rejected.push({ clientKey, reason: check.reason });
      continue;
    }
    const earlier = firstIndex.get(check.key);
    if (earlier !== undefined) {
      return {
        ok: false,
        reason: `symbol_index.json maps the key "${clientKey}" more than once (elements ${earlier} and ${index}; keys are case-insensitive)`,
      };
    }
    firstIndex.set(check.key, index);
    mappings.push({ clientKey, key: check.key, blobPath });
  }
  return { ok: true, mappings, rejected };
}

/** Both readings agree; only the wording of a JSON syntax error may differ. */
function expectSameVerdict(ours: SymbolIndex, theirs: SymbolIndex) {
  if (!theirs.ok && theirs.reason.startsWith('symbol_index.json is not valid JSON: ')) {
    expect(ours.ok ? 'accepted' : ours.reason).toMatch(/^symbol_index\.json is not valid JSON: /);
  } else {
    expect(ours).toEqual(theirs);
  }
}

const key = fc.oneof(
  fc.constantFrom('a', 'A', 'b/1/b', 'B/1/B', '', 'x\\y', 'tab\there', '"]}[{', 'ü/€'),
  fc.string({ maxLength: 8 }),
);
const element = fc.oneof(
  { weight: 6, arbitrary: fc.record({ clientKey: key, blobPath: key }) },
  { weight: 1, arbitrary: fc.record({ clientKey: key }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const spacing = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');
/** Texts of arrays of mostly good elements, spaced every way JSON allows. */
const document = fc
  .tuple(fc.array(fc.tuple(element, spacing, spacing), { maxLength: 6 }), spacing, fc.boolean())
  .map(([items, outer, bom]) => {
    const body = items.map(([value, before, after]) => `${before}${JSON.stringify(value)}${after}`);
    return `${bom ? '\uFEFF' : ''}${outer}[${body.join(',')}]${outer}`;
  });
/** The same texts with a character inserted, removed or replaced somewhere. */
const damaged = fc
  .tuple(document, fc.nat(), fc.constantFrom('', ',', ']', '[', '{', '}', '"', '\\', ' ', 'x', '1'))
  .map(([text, at, char]) => {
    const where = at % (text.length + 1);
    return `${text.slice(0, where)}${char}${text.slice(where + (at % 2))}`;
  });

function* cut(text: string, sizes: readonly number[]) {
  const bytes = Buffer.from(text);
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

describe('parseSymbolIndex judges every document as parsing it whole did', () => {
  const sizes = fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 4 });

  it('well-formed documents, cut anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(document, sizes, async (text, cuts) => {
        expectSameVerdict(await parseSymbolIndex(cut(text, cuts)), wholeText(text));
      }),
      { numRuns: 400 },
    );
  });

  it('documents with a character out of place', async () => {
    await fc.assert(
      fc.asyncProperty(damaged, sizes, async (text, cuts) => {
        expectSameVerdict(await parseSymbolIndex(cut(text, cuts)), wholeText(text));
      }),
      { numRuns: 1500 },
    );
  });

  it('any JSON text at all', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 3 }), sizes, async (text, cuts) => {
        expectSameVerdict(await parseSymbolIndex(cut(text, cuts)), wholeText(text));
      }),
      { numRuns: 400 },
    );
  });
});
