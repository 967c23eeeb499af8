import { uploadVersion } from '../../shared/listings/packageView';
import {
  compareVersions,
  isNuGetId,
  isNuGetVersion,
  isSemVer2,
  normalizeVersion,
} from '../../shared/nuget/nugetVersion';

describe('normalizeVersion', () => {
  it.each([
    ['1.0', '1.0.0'],
    ['1.2.3.0', '1.2.3'],
    ['1.2.3.4', '1.2.3.4'],
    ['1.0.0-Beta.U20261124110212345+Build.7', '1.0.0-beta.u20261124110212345'],
    ['nuget-3f2a', 'nuget-3f2a'],
  ])('%s is %s in URLs', (version, normalized) => {
    expect(normalizeVersion(version)).toBe(normalized);
  });
});

describe('compareVersions', () => {
  it('orders as SemVer 2, with NuGet four-part versions and case-insensitive labels', () => {
    const ordered = [
      '0.9.0',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-BETA.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.0.1',
      '1.0.1',
      '10.0.0',
      'not-a-version',
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareVersions)).toEqual(ordered);
  });

  it('orders two uploads of one version by upload time', () => {
    const first = uploadVersion('1.2.3', '2026-11-24T11:02:12.345Z', 'f'.repeat(32));
    const second = uploadVersion('1.2.3', '2026-11-24T11:02:12.346Z', '0'.repeat(32));
    expect(compareVersions(first, second)).toBeLessThan(0);
    expect(compareVersions('1.0.0+a', '1.0.0+b')).toBe(0);
  });
});

describe('validity', () => {
  it('knows SemVer 2 versions, NuGet versions and ids', () => {
    expect(isSemVer2('1.0.0-u20261124110212345')).toBe(false);
    expect(isSemVer2('1.0.0-beta.u20261124110212345')).toBe(true);
    expect(isSemVer2('1.0.0+meta')).toBe(true);
    expect(isNuGetVersion('1.0')).toBe(true);
    expect(isNuGetVersion('one')).toBe(false);
    expect(isNuGetVersion('1.0.0.0.0')).toBe(false);
    expect(isNuGetId('Foo.Bar-Baz_1')).toBe(true);
    expect(isNuGetId('Foo Bar')).toBe(false);
    expect(isNuGetId('.Foo')).toBe(false);
    expect(isNuGetId('a'.repeat(101))).toBe(false);
  });
});
