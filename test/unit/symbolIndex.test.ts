import { parseSymbolIndex } from '../../shared/index/symbolIndex';

const parse = (text: string) => parseSymbolIndex(Buffer.from(text));

describe('parseSymbolIndex', () => {
  it('reads the mappings and lower-cases keys', () => {
    expect(parse('[{"clientKey":"Foo.PDB/ABC/foo.pdb","blobPath":"lib/Foo.pdb"}]')).toEqual({
      ok: true,
      mappings: [
        { clientKey: 'Foo.PDB/ABC/foo.pdb', key: 'foo.pdb/abc/foo.pdb', blobPath: 'lib/Foo.pdb' },
      ],
      rejected: [],
    });
  });

  it('accepts an empty array and a byte order mark', () => {
    expect(parse('\uFEFF[]')).toEqual({ ok: true, mappings: [], rejected: [] });
  });

  it('allows many keys for one blob', () => {
    const result = parse('[{"clientKey":"a","blobPath":"x"},{"clientKey":"b","blobPath":"x"}]');
    expect(result.ok && result.mappings.map((m) => m.key)).toEqual(['a', 'b']);
  });

  it.each([
    ['not JSON', '[{"clientKey":', /is not valid JSON/],
    ['not an array', '{"clientKey":"a","blobPath":"b"}', /must be an array/],
    ['a number for a key', '[{"clientKey":5,"blobPath":"b"}]', /element 0\.clientKey/],
    ['a missing blobPath', '[{"clientKey":"a"}]', /element 0\.blobPath/],
    ['an empty key', '[{"clientKey":"","blobPath":"b"}]', /clientKey must be a non-empty string/],
    ['a null element', '[null]', /element 0/],
  ])('refuses %s', (_label, text, reason) => {
    const result = parse(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('refuses a key mapped twice, whatever its case', () => {
    const result = parse(
      '[{"clientKey":"a/B/c","blobPath":"x"},{"clientKey":"z","blobPath":"y"},{"clientKey":"A/b/C","blobPath":"y"}]',
    );
    expect(result).toEqual({
      ok: false,
      reason:
        'symbol_index.json maps the key "A/b/C" more than once (elements 0 and 2; keys are case-insensitive)',
    });
  });

  it('skips keys no client can ask for, keeping the rest', () => {
    const result = parse(
      '[{"clientKey":"a\\\\b","blobPath":"x"},{"clientKey":"ok","blobPath":"y"}]',
    );
    expect(result).toEqual({
      ok: true,
      mappings: [{ clientKey: 'ok', key: 'ok', blobPath: 'y' }],
      rejected: [{ clientKey: 'a\\b', reason: 'the key contains a backslash' }],
    });
  });
});
