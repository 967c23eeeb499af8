#!/usr/bin/env node
import { RestError } from '@azure/data-tables';
import { problemOf } from '../shared/admin/manage';
import { exactly, numberOption, parse, UsageError } from './args';
import { catalogCommand } from './catalogCommand';
import { feedCommand } from './feedCommands';
import { keysCommand } from './keysCommand';
import { listingsCommand } from './listingsCommand';
import { CliError, Output, processOutput } from './output';
import { packageCommand } from './packageCommands';
import { packCommand } from './packCommand';
import { mirrorCommand } from './mirrorCommand';
import { retentionCommand } from './retentionCommand';
import { tokenCommand } from './tokenCommands';

const USAGE = `usage:
  symfeed keys <file|folder|package.zip>... [--json]
      print every key symfeed serves each file under, one "key<TAB>path" line each;
      entries of a package print as "package.zip!entry"
  symfeed pack <folder> -o <package.zip>
      write a symbol package whose symbol_index.json maps every derived key
  symfeed feed create <name> [--private] [--members a,b] [retention rules] [upstreams]
      [--mirror URL [--mirror-protocol v3|v2] [--mirror-token TOKEN]]
  symfeed feed update <name> [--private|--public] [--members a,b] [--no-retention] [rules]
      [upstreams | --no-upstreams]
  symfeed feed delete <name>
  symfeed feed list [--json]
      retention rules: --keep-latest N (uploads per package id), --max-age-days D,
      --prerelease-only (the age rule deletes prereleases only), --max-packages M;
      update sets the rules it names and keeps the others, unless --no-retention;
      --members '' leaves no members;
      upstreams: --upstream URL (an SSQP/SymSrv server), --debuginfod-upstream URL, each
      repeatable, asked in the order given for keys no package has; update replaces the list
      mirror: --mirror URL (another symfeed feed's v3 service index, .../F/{feed}/api/v3/index.json)
      copies its packages; a private source needs --mirror-token (a read token of that feed),
      which is sent to it alone;
      --mirror-protocol v2 follows a NuGet v2 (OData) feed root instead, by LastUpdated
  symfeed token create <feed> --scopes read[,push,delete,admin] [--expires 90d] [--owner NAME]
      prints the new token alone on standard output; only its hash is stored
  symfeed token list [<feed>] [--json]
  symfeed token revoke <id>
  symfeed package list <feed> [--state STATE] [--json] [--top N] [--continuation TOKEN]
      every package, read a page at a time; with --top, N of them and the command for the next
  symfeed package show <feed> <uid>
      the package's status document
  symfeed package delete <feed> <uid> [--reason TEXT]
  symfeed retention run <feed> [--dry-run]
  symfeed catalog rebuild <feed>
      appends to the feed's catalog every event of its package table it lacks
  symfeed listings rebuild <feed>
      writes the feed's NuGet listings (search, registrations, v2 list) again from its package table
  symfeed mirror run <feed> [--limit N]
      copies now what the mirror's source catalog added or deleted since its cursor
feed, token, package, retention, catalog, listings and mirror work on the storage account of AzureWebJobsStorage
(a connection string) or of the AzureWebJobsStorage__* identity settings, as npm start does;
without either, on the Azurite that npm start runs (SYMFEED_AZURITE_PORTS)`;

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
        out.note(`wrote ${values.output} with ${count} keys`);
        return 0;
      }
      case 'feed':
        return await feedCommand(rest, out);
      case 'token':
        return await tokenCommand(rest, out);
      case 'package':
        return await packageCommand(rest, out);
      case 'retention': {
        const { values, positionals } = parse(rest, { 'dry-run': { type: 'boolean' } });
        const usage = 'retention takes "run" and one feed name';
        const [run, feed] = exactly(positionals, 2, usage);
        if (run !== 'run') throw new UsageError(usage);
        return await retentionCommand(feed, { dryRun: values['dry-run'] === true }, out);
      }
      case 'catalog': {
        const usage = 'catalog takes "rebuild" and one feed name';
        const [rebuild, feed] = exactly(parse(rest, {}).positionals, 2, usage);
        if (rebuild !== 'rebuild') throw new UsageError(usage);
        return await catalogCommand(feed, out);
      }
      case 'listings': {
        const usage = 'listings takes "rebuild" and one feed name';
        const [rebuild, feed] = exactly(parse(rest, {}).positionals, 2, usage);
        if (rebuild !== 'rebuild') throw new UsageError(usage);
        return await listingsCommand(feed, out);
      }
      case 'mirror': {
        const { values, positionals } = parse(rest, { limit: { type: 'string' } });
        const usage = 'mirror takes "run" and one feed name';
        const [run, feed] = exactly(positionals, 2, usage);
        if (run !== 'run') throw new UsageError(usage);
        const limit = values.limit === undefined ? undefined : numberOption('limit', values.limit);
        if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
          throw new UsageError('--limit is a whole number of events, 1 or more');
        return await mirrorCommand(feed, limit === undefined ? {} : { limit }, out);
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
      out.note(`${error.message}\n${USAGE}`);
      return 2;
    }
    const problem = error instanceof CliError ? error : problemOf(error);
    if (problem) {
      out.note(`error: ${problem.message}`);
      return 1;
    }
    if (error instanceof RestError) {
      out.note(
        `error: the storage account in AzureWebJobsStorage (by default the Azurite of npm start) failed: ${error.message}`,
      );
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  // A reader that went away (`symfeed keys ... | head`) wants no more: stop quietly, as Unix tools do.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`symfeed: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    },
  );
}
