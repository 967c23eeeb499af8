import { debuginfodPath, upstreamUrl } from '../../shared/upstream/upstreamKeys';

const id = '0123456789abcdef0123456789abcdef01234567';

describe('debuginfodPath', () => {
  it('maps the ELF debug-file key to /buildid/<id>/debuginfo', () => {
    expect(debuginfodPath(`_.debug/elf-buildid-sym-${id}/_.debug`)).toBe(`buildid/${id}/debuginfo`);
    expect(debuginfodPath(`_.DEBUG/ELF-BUILDID-SYM-${id.toUpperCase()}/_.debug`)).toBe(
      `buildid/${id}/debuginfo`,
    );
  });

  it('maps the ELF executable key to /buildid/<id>/executable', () => {
    expect(debuginfodPath(`libc.so.6/elf-buildid-${id}/libc.so.6`)).toBe(
      `buildid/${id}/executable`,
    );
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
      expect(debuginfodPath(key)).toBeUndefined();
    }
  });
});

describe('upstreamUrl', () => {
  it('appends the key to an SSQP upstream in the client spelling, each segment encoded', () => {
    expect(
      upstreamUrl(
        { kind: 'ssqp', url: 'https://msdl.microsoft.com/download/symbols' },
        'Foo.pdb/ABC1/Foo.pdb',
      ),
    ).toBe('https://msdl.microsoft.com/download/symbols/Foo.pdb/ABC1/Foo.pdb');
    expect(upstreamUrl({ kind: 'ssqp', url: 'http://h' }, 'a b/x?y#z/%')).toBe(
      'http://h/a%20b/x%3Fy%23z/%25',
    );
  });

  it('asks a debuginfod upstream only for ELF keys', () => {
    expect(
      upstreamUrl(
        { kind: 'debuginfod', url: 'http://d:8002' },
        `_.debug/elf-buildid-sym-${id}/_.debug`,
      ),
    ).toBe(`http://d:8002/buildid/${id}/debuginfo`);
    expect(
      upstreamUrl({ kind: 'debuginfod', url: 'http://d' }, 'foo.pdb/abc/foo.pdb'),
    ).toBeUndefined();
  });

  it('never asks keys that URL parsing would turn into another path', () => {
    expect(upstreamUrl({ kind: 'ssqp', url: 'http://h/s' }, 'a/../b')).toBeUndefined();
    expect(upstreamUrl({ kind: 'ssqp', url: 'http://h/s' }, './b')).toBeUndefined();
  });
});
