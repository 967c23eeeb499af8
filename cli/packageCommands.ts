import { deletePackageByUid, feedPackages, packageStatus } from '../shared/admin/manage';
import { exactly, parse, table, UsageError } from './args';
import { Output } from './output';
import { cliStorage } from './storage';

/** `symfeed package list|show|delete`. */
export async function packageCommand(args: readonly string[], out: Output): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'list': {
      const { values, positionals } = parse(rest, {
        state: { type: 'string' },
        json: { type: 'boolean' },
      });
      const [feed] = exactly(positionals, 1, 'package list needs one feed name');
      const packages = await feedPackages(await cliStorage(), feed, values.state);
      if (values.json) {
        out.line(JSON.stringify(packages, null, 2));
        return 0;
      }
      const rows = packages.map((p) => [p.uid, p.id, p.version, p.state, p.uploadedAt, p.blob]);
      for (const line of table(['UID', 'ID', 'VERSION', 'STATE', 'UPLOADED', 'BLOB'], rows)) {
        out.line(line);
      }
      return 0;
    }
    case 'show': {
      const usage = 'package show needs a feed name and a package uid';
      const [feed, uid] = exactly(parse(rest, {}).positionals, 2, usage);
      out.line(JSON.stringify(await packageStatus(await cliStorage(), feed, uid), null, 2));
      return 0;
    }
    case 'delete': {
      const { values, positionals } = parse(rest, { reason: { type: 'string' } });
      const usage = 'package delete needs a feed name and a package uid';
      const [feed, uid] = exactly(positionals, 2, usage);
      const reason = values.reason ?? 'deleted with symfeed package delete';
      const outcome = await deletePackageByUid({ storage: await cliStorage() }, feed, uid, reason);
      out.line(
        outcome === 'queued'
          ? `package ${uid} of feed ${feed}: delete queued`
          : `package ${uid} of feed ${feed} is already deleted or being deleted`,
      );
      return 0;
    }
    default:
      throw new UsageError(
        subcommand === undefined
          ? 'package needs list, show or delete'
          : `unknown package command "${subcommand}"`,
      );
  }
}
