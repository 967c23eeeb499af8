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

describe('HotFiles.fill', () => {
  it('runs one load for every concurrent fill of a key', async () => {
    const files = new HotFiles(10, 100);
    let loads = 0;
    let release: () => void = () => undefined;
    const load = () => {
      loads += 1;
      return new Promise<Buffer>((resolve) => {
        release = () => resolve(Buffer.from('bytes'));
      });
    };
    const fills = Array.from({ length: 64 }, () => files.fill('a', 5, load));
    release();
    const results = await Promise.all(fills);
    expect(loads).toBe(1);
    expect(results.every((file) => file?.toString() === 'bytes')).toBe(true);
    // Done: the next fill loads again (the caller keeps what it wants with set).
    const again = files.fill('a', 5, load);
    release();
    await again;
    expect(loads).toBe(2);
  });

  it('refuses fills past the budget while others hold it, and takes them again after', async () => {
    const files = new HotFiles(60, 100);
    let release: () => void = () => undefined;
    const held = files.fill('a', 60, () => new Promise<void>((resolve) => (release = resolve)));
    expect(files.fill('b', 60, () => Promise.resolve())).toBeUndefined();
    expect(files.fill('c', 40, () => Promise.resolve())).toBeDefined();
    release();
    await held;
    expect(files.fill('b', 60, () => Promise.resolve())).toBeDefined();
  });

  it('frees the budget of a load that fails', async () => {
    const files = new HotFiles(60, 100);
    await expect(files.fill('a', 60, () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(files.fill('b', 60, () => Promise.resolve())).toBeDefined();
  });
});
