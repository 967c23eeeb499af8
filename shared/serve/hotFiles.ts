/**
 * The bytes of entries up to a size, kept once read. The bytes of an entry in an indexed blob
 * version never change, so entries are keyed by blob, ETag and offset and need no lifetime: what
 * can change is which entry a key resolves to, and that is the location cache's business. Bounded
 * by total bytes; the least recently used go first.
 */
export class HotFiles {
  private readonly files = new Map<string, Buffer>();
  private bytes = 0;
  private readonly filling = new Map<string, Promise<unknown>>();
  private fillingBytes = 0;

  constructor(
    /** Entries up to this size are kept. */
    readonly maxFileBytes: number,
    private readonly maxTotalBytes: number,
  ) {}

  get(key: string): Buffer | undefined {
    const file = this.files.get(key);
    if (file) {
      // Map order is insertion order: re-inserting marks the file as recently used.
      this.files.delete(key);
      this.files.set(key, file);
    }
    return file;
  }

  set(key: string, file: Buffer): void {
    if (file.length > this.maxFileBytes || this.files.has(key)) return;
    this.files.set(key, file);
    this.bytes += file.length;
    for (const [oldest, bytes] of this.files) {
      if (this.bytes <= this.maxTotalBytes) break;
      this.files.delete(oldest);
      this.bytes -= bytes.length;
    }
  }

  /**
   * Runs `load` to fill `key`, once however many ask at once: 64 debuggers asking for the same
   * cold file wait on one storage read. `bytes` is what the load holds in memory while it runs;
   * loads under way hold at most the cache's own budget beside it, and past that the answer is
   * undefined: the caller streams instead, so many cold files at once cannot take memory without
   * bound.
   */
  fill<T>(key: string, bytes: number, load: () => Promise<T>): Promise<T> | undefined {
    const under = this.filling.get(key);
    if (under) return under as Promise<T>;
    if (this.fillingBytes + bytes > this.maxTotalBytes) return undefined;
    this.fillingBytes += bytes;
    const filled = load().finally(() => {
      this.fillingBytes -= bytes;
      this.filling.delete(key);
    });
    this.filling.set(key, filled);
    return filled;
  }
}
