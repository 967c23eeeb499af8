import { debuginfodPaths, upstreamUrls } from '../../shared/upstream/upstreamKeys';

const id = '0123456789abcdef0123456789abcdef01234567';

describe('debuginfodPaths', () => {
  it('maps the ELF debug-file key to /buildid/<id>/debuginfo', () => {
    expect(debuginfodPaths(`_.debug/elf-buildid-sym-${id}/_.debug`)).toEqual([
      `buildid/${id}/debuginfo`,
    ]);
    expect(debuginfodPaths(`_.DEBUG/ELF-BUILDID-SYM-${id.toUpperCase()}/_.debug`)).toEqual([
      `buildid/${id}/debuginfo`,
    ]);
  });

  it('maps the ELF executable key to /buildid/<id>/executable', () => {
    expect(debuginfodPaths(`libc.so.6/elf-buildid-${id}/libc.so.6`)).toEqual([
      `buildid/${id}/executable`,
    ]);
  });

  it('asks an id padded with zeros as it is, then without the padding', () => {
    const md5 = 'f53daaa409a2b794168e817d302b8daa';
    expect(debuginfodPaths(`_.debug/elf-buildid-sym-${md5}00000000/_.debug`)).toEqual([
      `buildid/${md5}00000000/debuginfo`,
      `buildid/${md5}/debuginfo`,
    ]);
    expect(debuginfodPaths(`_.debug/elf-buildid-sym-${'0'.repeat(40)}/_.debug`)).toEqual([
      `buildid/${'0'.repeat(40)}/debuginfo`,
    ]);
  });

  it('maps nothing else', () => {
    for (const key of [
      `libc.so.6/elf-buildid-${id}/libm.so.6`,
      `_.debug/elf-buildid-sym-${id.slice(2)}/_.debug`,
      `hello/mach-uuid-${id.slice(0, 32)}/hello`,
      `_.dwarf/mach-uuid-sym-${id.slice(0, 32)}/_.dwarf`,
      'foo.pdb/0123456789abcdef0123456789abcdef1/foo.pdb',
      `_.debug/elf-buildid-sym-${id}/_.debug/more`,
    ]) {
      expect(debuginfodPaths(key)).toEqual([]);
    }
  });
});

describe('upstreamUrls', () => {
  it('appends the key to an SSQP upstream in the client spelling, each segment encoded', () => {
    expect(
      upstreamUrls(
        { kind: 'ssqp', url: 'https://msdl.microsoft.com/download/symbols' },
        'Foo.pdb/ABC1/Foo.pdb',
      ),
    ).toEqual(['https://msdl.microsoft.com/download/symbols/Foo.pdb/ABC1/Foo.pdb']);
    expect(upstreamUrls({ kind: 'ssqp', url: 'http://h' }, 'a b/x?y#z/%')).toEqual([
      'http://h/a%20b/x%3Fy%23z/%25',
    ]);
  });

  it('asks a debuginfod upstream only for ELF keys', () => {
    expect(
      upstreamUrls(
        { kind: 'debuginfod', url: 'http://d:8002' },
        `_.debug/elf-buildid-sym-${id}/_.debug`,
      ),
    ).toEqual([`http://d:8002/buildid/${id}/debuginfo`]);
    expect(upstreamUrls({ kind: 'debuginfod', url: 'http://d' }, 'foo.pdb/abc/foo.pdb')).toEqual(
      [],
    );
  });

  it('never asks keys that URL parsing would turn into another path', () => {
    expect(upstreamUrls({ kind: 'ssqp', url: 'http://h/s' }, 'a/../b')).toEqual([]);
    expect(upstreamUrls({ kind: 'ssqp', url: 'http://h/s' }, './b')).toEqual([]);
  });
});
