import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bufferSource, FormatError } from '../../../shared/formats/byteSource';
import { perfmapKeyGenerator } from '../../../shared/formats/perfmap';

const fixture = readFileSync(
  path.join(__dirname, '../../fixtures/perfmap/System.Private.CoreLib.ni.r2rmap'),
);
const keys = (text: string | Buffer, name = 'x.ni.r2rmap') =>
  perfmapKeyGenerator.keys(bufferSource(Buffer.from(text)), name);

describe('perfmap key generator', () => {
  it('gives the key of the SSQP_Key_Conventions.md example', async () => {
    expect(perfmapKeyGenerator.detect(fixture.subarray(0, 64))).toBe(true);
    const result = await keys(fixture, 'lib/System.Private.CoreLib.ni.r2rmap');
    expect(result.keys).toEqual([
      {
        key: 'system.private.corelib.ni.r2rmap/r2rmap-v1-f5fddf60efb0bee79ef02a19c3decba9/system.private.corelib.ni.r2rmap',
        convention: 'r2rmap',
      },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('does not claim other text', () => {
    expect(perfmapKeyGenerator.detect(Buffer.from('<?xml version="1.0"?>\n<doc/>'))).toBe(false);
    expect(perfmapKeyGenerator.detect(Buffer.from('FFFFFFFF 0 nothex\n'))).toBe(false);
  });

  it('warns about versions newer than 1 and keys them by their version', async () => {
    const result = await keys('FFFFFFFF 0 00112233445566778899AABBCCDDEEFF\nFFFFFFFE 0 2\n');
    expect(result.keys[0]?.key).toBe(
      'x.ni.r2rmap/r2rmap-v2-00112233445566778899aabbccddeeff/x.ni.r2rmap',
    );
    expect(result.warnings).toEqual([
      'perfmap format version 2 is newer than the version 1 symfeed knows',
    ]);
  });

  it.each([
    ['no version record', 'FFFFFFFF 0 00112233445566778899AABBCCDDEEFF\n', /version record/],
    [
      'a version that is not a number',
      'FFFFFFFF 0 00112233445566778899AABBCCDDEEFF\nFFFFFFFE 0 one\n',
      /not a number/,
    ],
    ['a short signature', 'FFFFFFFF 0 0011\nFFFFFFFE 0 1\n', /16 bytes/],
    [
      'a non-zero header length',
      'FFFFFFFF 0 00112233445566778899AABBCCDDEEFF\nFFFFFFFE 4 1\n',
      /version record/,
    ],
  ])('refuses %s', async (_label, text, reason) => {
    const attempt = keys(text);
    await expect(attempt).rejects.toBeInstanceOf(FormatError);
    await expect(attempt).rejects.toThrow(reason);
  });
});
