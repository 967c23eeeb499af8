import { parseArgs, ParseArgsConfig } from 'node:util';

/** The command line itself is wrong: the message and the usage, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parse<T extends ParseArgsConfig['options']>(args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A command's positionals when there are exactly `count` of them; a usage error otherwise. */
export function exactly(positionals: readonly string[], count: 0, usage: string): [];
export function exactly(positionals: readonly string[], count: 1, usage: string): [string];
export function exactly(positionals: readonly string[], count: 2, usage: string): [string, string];
export function exactly(positionals: readonly string[], count: number, usage: string): string[] {
  if (positionals.length !== count) throw new UsageError(usage);
  return [...positionals];
}

/** A comma-separated option ("a,b"), blanks dropped, so that "" means an empty list. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A numeric option; whether the number is in range is the domain's call, with its message. */
export function numberOption(name: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number))
    throw new UsageError(`--${name} needs a number, not "${value}"`);
  return number;
}

/** Columns padded to their widest cell, for listings people read; --json is for scripts. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}
