import { runtimeCompanionKeys } from '../../../shared/formats/clrRuntime';

/** Key shapes from SSQP_CLR_Private_Key_Conventions.md and Microsoft.SymbolStore's generators. */
describe('runtimeCompanionKeys', () => {
  it('keys the DAC, DBI and SOS beside a Windows runtime by its PE identity', () => {
    const keys = runtimeCompanionKeys([
      { path: 'runtimes/win-x64/native/coreclr.dll', format: 'pe', identity: ['542D574232000'] },
      {
        path: 'runtimes/win-x64/native/mscordaccore.dll',
        format: 'pe',
        identity: ['11111111a000'],
      },
      { path: 'runtimes/win-x64/native/SOS.NETCore.dll', format: 'pe', identity: ['22222222b000'] },
      { path: 'runtimes/win-x64/native/other.dll', format: 'pe', identity: ['33333333c000'] },
      { path: 'runtimes/win-x86/native/mscordbi.dll', format: 'pe', identity: ['44444444d000'] },
    ]);
    expect(Object.fromEntries(keys)).toEqual({
      'runtimes/win-x64/native/mscordaccore.dll': [
        { key: 'mscordaccore.dll/542D574232000/mscordaccore.dll', convention: 'clr-private' },
      ],
      'runtimes/win-x64/native/SOS.NETCore.dll': [
        { key: 'sos.netcore.dll/542D574232000/sos.netcore.dll', convention: 'clr-private' },
      ],
    });
  });

  it('uses the build-id of libcoreclr.so and every slice uuid of libcoreclr.dylib', () => {
    const keys = runtimeCompanionKeys([
      {
        path: 'linux/libcoreclr.so',
        format: 'elf',
        identity: ['180a373d6afbabf0eb1f09be1bc45bd796a71085'],
      },
      { path: 'linux/libmscordaccore.so', format: 'elf', identity: ['aa'] },
      {
        path: 'osx/libcoreclr.dylib',
        format: 'macho',
        identity: ['497b72f6390a44fc878e5a2d63b6cc4b', '00112233445566778899aabbccddeeff'],
      },
      { path: 'osx/libsos.dylib', format: 'macho', identity: ['bb'] },
    ]);
    expect(keys.get('linux/libmscordaccore.so')).toEqual([
      {
        key: 'libmscordaccore.so/elf-buildid-coreclr-180a373d6afbabf0eb1f09be1bc45bd796a71085/libmscordaccore.so',
        convention: 'clr-private',
      },
    ]);
    expect(keys.get('osx/libsos.dylib')?.map((k) => k.key)).toEqual([
      'libsos.dylib/mach-uuid-coreclr-497b72f6390a44fc878e5a2d63b6cc4b/libsos.dylib',
      'libsos.dylib/mach-uuid-coreclr-00112233445566778899aabbccddeeff/libsos.dylib',
    ]);
  });

  it('ignores a runtime name on a file of another format, and runtimes without companions', () => {
    expect(
      runtimeCompanionKeys([
        { path: 'coreclr.dll', format: 'elf', identity: ['aa'] },
        { path: 'mscordaccore.dll', format: 'pe', identity: ['bb'] },
        { path: 'x/libcoreclr.so', format: 'elf', identity: ['cc'] },
      ]).size,
    ).toBe(0);
  });
});
