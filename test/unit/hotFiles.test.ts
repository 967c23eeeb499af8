import { HotFiles } from '../../shared/serve/hotFiles';

describe('HotFiles', () => {
  it('keeps files up to the size limit and drops the least recently used past the total', () => {
    const files = new HotFiles(4, 8);
    files.set('a', Buffer.from('aaaa'));
    files.set('b', Buffer.from('bbbb'));
    files.set('too-big', Buffer.from('xxxxx'));
    expect(files.get('too-big')).toBeUndefined();
    expect(files.get('a')).toEqual(Buffer.from('aaaa')); // a is now the most recently used
    files.set('c', Buffer.from('cccc'));
    expect(files.get('b')).toBeUndefined();
    expect(files.get('a')).toEqual(Buffer.from('aaaa'));
    expect(files.get('c')).toEqual(Buffer.from('cccc'));
  });

  it('keeps nothing when the limits are 0', () => {
    const files = new HotFiles(0, 0);
    files.set('a', Buffer.from('a'));
    expect(files.get('a')).toBeUndefined();
  });
});
