import { rawPathTail } from '../../functions/rawPath';
import { compileRoute } from '../../local/httpTriggers';

describe('rawPathTail', () => {
  it('keeps the tail percent-encoded', () => {
    expect(rawPathTail('http://h:1/F/default/symbols/a%2Fb/C%252F/d?x=1', 3)).toBe(
      'a%2Fb/C%252F/d',
    );
    expect(rawPathTail('https://h/F/f/symbols/', 3)).toBe('');
  });
});

describe('compileRoute', () => {
  it('matches Azure Functions route templates', () => {
    const { pattern, names } = compileRoute('F/{feed}/symbols/{*clientKey}');
    expect(names).toEqual(['feed', 'clientKey']);
    expect(pattern.exec('/F/default/symbols/a/b/c')?.slice(1)).toEqual(['default', 'a/b/c']);
    expect(pattern.exec('/F/default/other/a')).toBeNull();
    expect(compileRoute('health').pattern.test('/health')).toBe(true);
  });
});
