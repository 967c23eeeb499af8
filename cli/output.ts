/** A failure the user can act on: printed as is, exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Output {
  line(text: string): void;
  warn(text: string): void;
}

export const processOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  warn: (text) => process.stderr.write(`warning: ${text}\n`),
};
