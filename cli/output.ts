/** A failure the user can act on: printed as is, exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Output {
  /** The command's result, on standard output. */
  line(text: string): void;
  /** What the user should know beside the result (progress, failures), on standard error. */
  note(text: string): void;
  /** A problem that did not stop the command, on standard error. */
  warn(text: string): void;
}

export const processOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  note: (text) => process.stderr.write(`${text}\n`),
  warn: (text) => process.stderr.write(`warning: ${text}\n`),
};
