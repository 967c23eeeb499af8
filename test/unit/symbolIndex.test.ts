import { parseSymbolIndex } from '../../shared/index/symbolIndex';

const parse = (text: string) => parseSymbolIndex([Buffer.from(text)]);

/** The same text cut into pieces of `size` bytes, wherever that falls. */
function* pieces(text: string, size: number) {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe('parseSymbolIndex', () => {
  it('reads the mappings and lower-cases keys', async () => {
    expect(await parse('[{"clientKey":"Foo.PDB/ABC/foo.pdb","blobPath":"lib/Foo.pdb"}]')).toEqual({
      ok: true,
      mappings: [
        { clientKey: 'Foo.PDB/ABC/foo.pdb', key: 'foo.pdb/abc/foo.pdb', blobPath: 'lib/Foo.pdb' },
      ],
      rejected: [],
    });
  });

  it('accepts an empty array and a byte order mark', async () => {
    expect(await parse('\uFEFF[]')).toEqual({ ok: true, mappings: [], rejected: [] });
  });

  it('allows many keys for one blob', async () => {
    const result = await parse(
      '[{"clientKey":"a","blobPath":"x"},{"clientKey":"b","blobPath":"x"}]',
    );
    expect(result.ok && result.mappings.map((m) => m.key)).toEqual(['a', 'b']);
  });

  it.each([
    ['not JSON', '[{"clientKey":', /is not valid JSON/],
    ['not an array', '{"clientKey":"a","blobPath":"b"}', /must be an array/],
    ['a number for a key', '[{"clientKey":5,"blobPath":"b"}]', /element 0\.clientKey/],
    ['a missing blobPath', '[{"clientKey":"a"}]', /element 0\.blobPath/],
    ['an empty key', '[{"clientKey":"","blobPath":"b"}]', /clientKey must be a non-empty string/],
    ['a null element', '[null]', /element 0/],
    ['an empty document', '  ', /is not valid JSON/],
    ['a comma before the end', '[{"clientKey":"a","blobPath":"b"},]', /is not valid JSON/],
    [
      'elements without a comma',
      '[{"clientKey":"a","blobPath":"b"} {"clientKey":"c","blobPath":"d"}]',
      /is not valid JSON/,
    ],
    ['an element that is not JSON', '[{"clientKey":"a" "blobPath":"b"}]', /is not valid JSON/],
    ['an array never closed', '[{"clientKey":"a","blobPath":"b"}', /is not valid JSON/],
    ['text after the array', '[{"clientKey":"a","blobPath":"b"}] and more', /is not valid JSON/],
    ['a second array', '[][]', /is not valid JSON/],
    ['a bare word for an element', '[tru]', /is not valid JSON/],
    ['a number for an element', '[1]', /element 0: /],
    [
      'an object for a key, brackets in its strings',
      '[{"clientKey":{"x":["]}",{"y":"\\"["}]},"blobPath":"b"}]',
      /element 0\.clientKey/,
    ],
    [
      'bad JSON after a wrong-typed element',
      '[{"clientKey":5,"blobPath":"b"},{]',
      /is not valid JSON/,
    ],
    [
      'a wrong-typed element after a key mapped twice',
      '[{"clientKey":"a","blobPath":"b"},{"clientKey":"A","blobPath":"b"},{"clientKey":7,"blobPath":"b"}]',
      /element 2\.clientKey/,
    ],
  ])('refuses %s', async (_label, text, reason) => {
    const result = await parse(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('refuses a key mapped twice, whatever its case', async () => {
    const result = await parse(
      '[{"clientKey":"a/B/c","blobPath":"x"},{"clientKey":"z","blobPath":"y"},{"clientKey":"A/b/C","blobPath":"y"}]',
    );
    expect(result).toEqual({
      ok: false,
      reason:
        'symbol_index.json maps the key "A/b/C" more than once (elements 0 and 2; keys are case-insensitive)',
    });
  });

  it('skips keys no client can ask for, keeping the rest', async () => {
    const result = await parse(
      '[{"clientKey":"a\\\\b","blobPath":"x"},{"clientKey":"ok","blobPath":"y"}]',
    );
    expect(result).toEqual({
      ok: true,
      mappings: [{ clientKey: 'ok', key: 'ok', blobPath: 'y' }],
      rejected: [{ clientKey: 'a\\b', reason: 'the key contains a backslash' }],
    });
  });

  it('reads the same however the bytes are cut, characters of several bytes included', async () => {
    const text =
      '\uFEFF [ {"clientKey":"Ünïcødé/€1/x","blobPath":"dir/ü.pdb"} ,\n{"blobPath":"a\\"]","clientKey":"b[{"} ]\n';
    const whole = await parse(text);
    expect(whole).toEqual({
      ok: true,
      mappings: [
        { clientKey: 'Ünïcødé/€1/x', key: 'ünïcødé/€1/x', blobPath: 'dir/ü.pdb' },
        { clientKey: 'b[{', key: 'b[{', blobPath: 'a"]' },
      ],
      rejected: [],
    });
    for (const size of [1, 2, 3, 5, 7, 64]) {
      expect(await parseSymbolIndex(pieces(text, size))).toEqual(whole);
    }
  });

  it('lets the event loop run while it reads a large index', async () => {
    const mappings = Array.from({ length: 20_000 }, (_, i) => ({
      clientKey: `key${i}/${'x'.repeat(200)}/f.pdb`,
      blobPath: 'f.pdb',
    }));
    let turns = 0;
    let counting = true;
    const count = () => {
      turns += 1;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const result = await parseSymbolIndex(pieces(JSON.stringify(mappings), 64 * 1024));
    counting = false;
    expect(result.ok && result.mappings).toHaveLength(20_000);
    expect(turns).toBeGreaterThan(10);
  });
});
