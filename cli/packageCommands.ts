import {
  deletePackageByUid,
  feedPackages,
  packageStatus,
  PackageSummary,
} from '../shared/admin/manage';
import { exactly, parse, table, UsageError } from './args';
import { Output } from './output';
import { cliStorage } from './storage';

/**
 * The packages `package list` shows: every page, read one page at a time; with --top or
 * --continuation, that one page, and a note of the command that shows the next.
 */
async function listed(
  feed: string,
  values: {
    state?: string | undefined;
    top?: string | undefined;
    continuation?: string | undefined;
  },
  out: Output,
): Promise<PackageSummary[]> {
  const storage = await cliStorage();
  const { state, top, continuation } = values;
  if (top !== undefined || continuation !== undefined) {
    const page = await feedPackages(storage, feed, { state, top, continuation });
    if (page.continuation !== undefined) {
      const options = [state && `--state ${state}`, top && `--top ${top}`].filter(Boolean);
      out.note(
        `more: symfeed package list ${[feed, ...options].join(' ')} --continuation ${page.continuation}`,
      );
    }
    return page.packages;
  }
  const packages: PackageSummary[] = [];
  let next: string | undefined;
  do {
    const page = await feedPackages(storage, feed, { state, continuation: next });
    packages.push(...page.packages);
    next = page.continuation;
  } while (next !== undefined);
  return packages;
}

/** `symfeed package list|show|delete`. */
export async function packageCommand(args: readonly string[], out: Output): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'list': {
      const { values, positionals } = parse(rest, {
        state: { type: 'string' },
        json: { type: 'boolean' },
        top: { type: 'string' },
        continuation: { type: 'string' },
      });
      const [feed] = exactly(positionals, 1, 'package list needs one feed name');
      const packages = await listed(feed, values, out);
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
