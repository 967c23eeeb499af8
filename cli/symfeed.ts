#!/usr/bin/env node
import { parseArgs, ParseArgsConfig } from 'node:util';
import { keysCommand } from './keysCommand';
import { CliError, Output, processOutput } from './output';
import { packCommand } from './packCommand';

const USAGE = `usage:
  symfeed keys <file|folder|package.zip>... [--json]
      print every key symfeed serves each file under, one "key<TAB>path" line each;
      entries of a package print as "package.zip!entry"
  symfeed pack <folder> -o <package.zip>
      write a symbol package whose symbol_index.json maps every derived key`;

class UsageError extends Error {}

export async function main(argv: readonly string[], out: Output = processOutput): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'keys': {
        const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
        if (positionals.length === 0)
          throw new UsageError('keys needs at least one file, folder or package');
        const lines = await keysCommand(positionals, out);
        if (values.json) out.line(JSON.stringify(lines, null, 2));
        else for (const { key, path } of lines) out.line(`${key}\t${path}`);
        return 0;
      }
      case 'pack': {
        const { values, positionals } = parse(rest, { output: { type: 'string', short: 'o' } });
        if (positionals.length !== 1 || !values.output)
          throw new UsageError('pack needs one folder and -o <package.zip>');
        const count = await packCommand(positionals[0] as string, values.output, out);
        out.warn(`wrote ${values.output} with ${count} keys`);
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        out.line(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.warn(`${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof CliError) {
      out.warn(error.message);
      return 1;
    }
    throw error;
  }
}

function parse<T extends ParseArgsConfig['options']>(args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`symfeed: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    },
  );
}
