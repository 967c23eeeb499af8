import { parseLookup } from '../../shared/ui/lookupInput';

const GUID_AGE = '497b72f6390a44fc878e5a2d63b6cc4b1';
const PDB_KEY = `app.pdb/${GUID_AGE}/app.pdb`;
const BUILD_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';

describe('parseLookup: what "why is my symbol missing?" reads in what is pasted', () => {
  it.each([
    ['a key, lower-cased as keys are compared', `App.pdb/${GUID_AGE.toUpperCase()}/App.pdb`],
    ['an SSQP URL', `https://sym.example/F/team/symbols/${PDB_KEY}`],
    ['an SSQP URL with a token in the path', `http://h:7071/F/team/auth/sf_x/symbols/${PDB_KEY}`],
    ['an SSQP URL percent-encoded', `http://h/F/team/symbols/app.pdb%2F${GUID_AGE}%2Fapp.pdb`],
    ['a file name and its signature', `app.pdb ${GUID_AGE}`],
    [
      'a file name, a GUID as Windows writes it and the age',
      `app.pdb {497B72F6-390A-44FC-878E-5A2D63B6CC4B} 1`,
    ],
    [
      'a file name, a GUID and a zero-padded age',
      `app.pdb 497B72F6-390A-44FC-878E-5A2D63B6CC4B 00000001`,
    ],
  ])('%s', (_, input) => {
    expect(parseLookup(input)).toMatchObject({ kind: 'key', key: PDB_KEY, file: 'app.pdb' });
  });

  it('reads a build-id and a debuginfod URL as the debug file of that build-id', () => {
    const key = `_.debug/elf-buildid-sym-${BUILD_ID}/_.debug`;
    expect(parseLookup(BUILD_ID.toUpperCase())).toEqual({
      kind: 'key',
      key,
      read: `the debug file of build-id ${BUILD_ID}`,
    });
    expect(parseLookup(`http://h/F/f/buildid/${BUILD_ID}/debuginfo`)).toMatchObject({ key });
    // A shorter build-id is padded as the SSQP conventions pad it.
    expect(parseLookup('0a1b2c3d4e5f6071')).toMatchObject({
      key: `_.debug/elf-buildid-sym-0a1b2c3d4e5f6071${'0'.repeat(24)}/_.debug`,
    });
  });

  it('reads a bare file name as one, for the keys filed under it', () => {
    expect(parseLookup('  App.PDB ')).toEqual({ kind: 'file', file: 'app.pdb' });
    expect(parseLookup('libfoo.so.1')).toEqual({ kind: 'file', file: 'libfoo.so.1' });
  });

  it('keeps a key without the file/index/file form, without a file name', () => {
    expect(parseLookup('a/b')).toEqual({ kind: 'key', key: 'a/b', read: 'the key as pasted' });
  });

  it.each([
    ['', /paste a key/],
    [GUID_AGE, /put the file name before it/],
    ['{497B72F6-390A-44FC-878E-5A2D63B6CC4B} 1', /put the file name before it/],
    ['https://h/F/f/api/v3/index.json', /neither \/symbols\/<key>/],
    ['https://h/F/f/symbols/%E0%A4%A', /percent-encoded/],
    ['a\\b/c', /backslash/],
    ['two words', /no spaces/],
  ])('refuses %j, saying why', (input, reason) => {
    const read = parseLookup(input);
    expect(read.kind).toBe('invalid');
    expect(read.kind === 'invalid' && read.reason).toMatch(reason);
  });
});
