import { FeedSettings, validFeedName } from '../shared/admin/manage';
import {
  createFeed,
  deleteFeed,
  Feed,
  getFeed,
  listFeeds,
  Mirror,
  RetentionPolicy,
  shownFeed,
  updateFeed,
  Upstream,
} from '../shared/feeds/feedTable';
import { exactly, list, numberOption, parse, table, UsageError } from './args';
import { Output } from './output';
import { cliStorage } from './storage';

const RETENTION_OPTIONS = {
  'keep-latest': { type: 'string' },
  'max-age-days': { type: 'string' },
  'prerelease-only': { type: 'boolean' },
  'max-packages': { type: 'string' },
} as const;

const UPSTREAM_OPTIONS = {
  upstream: { type: 'string', multiple: true },
  'debuginfod-upstream': { type: 'string', multiple: true },
} as const;

const SETTING_OPTIONS = {
  private: { type: 'boolean' },
  mirror: { type: 'string' },
  'mirror-protocol': { type: 'string' },
  'mirror-token': { type: 'string' },
  members: { type: 'string' },
  ...RETENTION_OPTIONS,
  ...UPSTREAM_OPTIONS,
} as const;

const UPSTREAM_KINDS = { upstream: 'ssqp', 'debuginfod-upstream': 'debuginfod' } as const;

/**
 * The upstreams the options name, in the order they appear on the command line (the order they
 * are asked in), whichever their kind; undefined when they name none. URLs are the domain's to
 * check.
 */
function upstreamOptions(args: readonly string[]): Upstream[] | undefined {
  const upstreams: Upstream[] = [];
  for (const [i, arg] of args.entries()) {
    const [option, inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s) : [];
    if (option !== 'upstream' && option !== 'debuginfod-upstream') continue;
    const url = inline ?? args[i + 1];
    if (url !== undefined) upstreams.push({ kind: UPSTREAM_KINDS[option], url });
  }
  return upstreams.length > 0 ? upstreams : undefined;
}

function describeUpstreams(feed: Feed): string {
  return (
    shownFeed(feed)
      .upstreams.map(
        ({ kind, url, headerNames }) =>
          `${kind} ${url}${headerNames ? ` (with ${headerNames.join(', ')})` : ''}`,
      )
      .join(', ') || '-'
  );
}

const NUMERIC_RULES = [
  ['keep-latest', 'keepLatestPerId'],
  ['max-age-days', 'maxAgeDays'],
  ['max-packages', 'maxPackages'],
] as const;

/** The retention rules the options name; undefined when they name none. */
function retentionOptions(values: {
  [K in keyof typeof RETENTION_OPTIONS]?: string | boolean;
}): RetentionPolicy | undefined {
  const rules: RetentionPolicy = {};
  for (const [option, field] of NUMERIC_RULES) {
    const value = values[option];
    if (typeof value === 'string') rules[field] = numberOption(option, value);
  }
  if (values['prerelease-only']) rules.prereleaseOnly = true;
  // Ranges and integers are the domain's to check: it names the rule that is wrong.
  return Object.keys(rules).length > 0 ? rules : undefined;
}

/** Retention as the options that would set it, so that a listing reads like a command line. */
function describeRetention(policy: RetentionPolicy): string {
  const rules = NUMERIC_RULES.flatMap(([option, field]) =>
    policy[field] === undefined ? [] : [`${option} ${policy[field]}`],
  );
  if (policy.prereleaseOnly) rules.push('prerelease-only');
  return rules.join(', ') || '-';
}

/** The mirror's source, and whether it has a token: never the token. */
function describeMirror(feed: Feed): string {
  const mirror = shownFeed(feed).mirror;
  if (!mirror) return '-';
  const protocol = mirror.protocol === 'v2' ? 'v2 ' : '';
  return `${protocol}${mirror.url}${mirror.withToken ? ' (with token)' : ''}`;
}

/** The mirror the options name; undefined when they name none. */
function mirrorOptions(values: {
  mirror?: string;
  'mirror-protocol'?: string;
  'mirror-token'?: string;
}): Mirror | undefined {
  const { 'mirror-token': token, 'mirror-protocol': protocol } = values;
  if (values.mirror === undefined) {
    if (token !== undefined || protocol !== undefined)
      throw new UsageError('--mirror-token and --mirror-protocol go with --mirror URL');
    return undefined;
  }
  if (protocol !== undefined && protocol !== 'v2' && protocol !== 'v3')
    throw new UsageError('--mirror-protocol is v3 (a symfeed catalog) or v2 (a NuGet OData feed)');
  return {
    url: values.mirror,
    ...(protocol !== undefined && { protocol }),
    ...(token !== undefined && { token }),
  };
}

function describe(feed: Feed): string {
  const members = feed.members.length > 0 ? `, members ${feed.members.join(',')}` : '';
  const upstreams = feed.upstreams.length > 0 ? `, upstreams ${describeUpstreams(feed)}` : '';
  const mirror = feed.mirror ? `, mirror of ${describeMirror(feed)}` : '';
  return `${feed.name} (${feed.visibility}${members}, retention ${describeRetention(feed.retention)}${upstreams}${mirror})`;
}

/** `symfeed feed create|update|delete|list`. */
export async function feedCommand(args: readonly string[], out: Output): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'create': {
      const { values, positionals } = parse(rest, SETTING_OPTIONS);
      const [name] = exactly(positionals, 1, 'feed create needs one feed name');
      const retention = retentionOptions(values);
      const upstreams = upstreamOptions(rest);
      const mirror = mirrorOptions(values);
      const settings: FeedSettings = {
        visibility: values.private ? 'private' : 'public',
        ...(values.members !== undefined && { members: list(values.members) }),
        ...(retention && { retention }),
        ...(upstreams && { upstreams }),
        ...(mirror && { mirror }),
      };
      const { feedsTable } = await cliStorage();
      out.line(`created feed ${describe(await createFeed(feedsTable, { ...settings, name }))}`);
      return 0;
    }
    case 'update': {
      const { values, positionals } = parse(rest, {
        ...SETTING_OPTIONS,
        public: { type: 'boolean' },
        'no-retention': { type: 'boolean' },
        'no-upstreams': { type: 'boolean' },
      });
      const [name] = exactly(positionals, 1, 'feed update needs one feed name');
      if (values.private && values.public)
        throw new UsageError('a feed is either --private or --public');
      const retention = retentionOptions(values);
      const clear = values['no-retention'] === true;
      const upstreams = upstreamOptions(rest);
      const mirror = mirrorOptions(values);
      if (upstreams && values['no-upstreams'])
        throw new UsageError('--no-upstreams clears the upstreams: it goes with no --upstream');
      const changes: FeedSettings = {
        ...(values.private && { visibility: 'private' }),
        ...(values.public && { visibility: 'public' }),
        ...(values.members !== undefined && { members: list(values.members) }),
        // The list given replaces the feed's: upstreams are asked in the order written.
        ...(upstreams && { upstreams }),
        ...(values['no-upstreams'] && { upstreams: [] }),
        ...(mirror && { mirror }),
      };
      if (Object.keys(changes).length === 0 && !retention && !clear)
        throw new UsageError('feed update needs at least one setting to change');
      const { feedsTable } = await cliStorage();
      if (retention || clear) {
        // Each option sets one rule; the rules not named keep theirs unless --no-retention.
        const current = clear ? {} : (await getFeed(feedsTable, validFeedName(name)))?.retention;
        changes.retention = { ...current, ...retention };
      }
      out.line(`updated feed ${describe(await updateFeed(feedsTable, name, changes))}`);
      return 0;
    }
    case 'delete': {
      const [name] = exactly(parse(rest, {}).positionals, 1, 'feed delete needs one feed name');
      await deleteFeed((await cliStorage()).feedsTable, validFeedName(name));
      out.line(`deleted feed ${name}; its packages and tokens stay until deleted or revoked`);
      return 0;
    }
    case 'list': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
      exactly(positionals, 0, 'feed list takes no arguments');
      const feeds = await listFeeds((await cliStorage()).feedsTable);
      if (values.json) {
        out.line(JSON.stringify(feeds.map(shownFeed), null, 2));
        return 0;
      }
      const rows = feeds.map((feed) => [
        feed.name,
        feed.visibility,
        feed.members.join(',') || '-',
        describeRetention(feed.retention),
        describeUpstreams(feed),
        describeMirror(feed),
      ]);
      const header = ['NAME', 'VISIBILITY', 'MEMBERS', 'RETENTION', 'UPSTREAMS', 'MIRROR'];
      for (const line of table(header, rows)) {
        out.line(line);
      }
      return 0;
    }
    default:
      throw new UsageError(
        subcommand === undefined
          ? 'feed needs create, update, delete or list'
          : `unknown feed command "${subcommand}"`,
      );
  }
}
