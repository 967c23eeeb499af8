import { TokenCache } from '../shared/feeds/tokenCache';
import { feedTokens, issueToken, revokeTokenById } from '../shared/admin/manage';
import { TokenInfo } from '../shared/feeds/tokens';
import { exactly, list, parse, table, UsageError } from './args';
import { Output } from './output';
import { cliStorage } from './storage';

function describe(info: TokenInfo): string {
  const expires = info.expiresAt ? `expires ${info.expiresAt}` : 'never expires';
  return `token ${info.id} of feed ${info.feed} (${info.scopes.join(',')}, owner ${info.owner}, ${expires})`;
}

/** `symfeed token create|list|revoke`. */
export async function tokenCommand(args: readonly string[], out: Output): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'create': {
      const { values, positionals } = parse(rest, {
        scopes: { type: 'string' },
        expires: { type: 'string' },
        owner: { type: 'string' },
      });
      const [feed] = exactly(positionals, 1, 'token create needs one feed name');
      if (values.scopes === undefined) throw new UsageError('token create needs --scopes');
      const storage = await cliStorage();
      const { token, info } = await issueToken(storage, feed, {
        scopes: list(values.scopes),
        expires: values.expires,
        owner: values.owner,
      });
      // The secret alone on standard output, so that TOKEN=$(symfeed token create ...) works.
      out.note(`created ${describe(info)}; it is shown this once only`);
      out.line(token);
      return 0;
    }
    case 'list': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
      if (positionals.length > 1) throw new UsageError('token list takes at most one feed name');
      const tokens = await feedTokens(await cliStorage(), positionals[0]);
      if (values.json) {
        out.line(JSON.stringify(tokens, null, 2));
        return 0;
      }
      const rows = tokens.map((info) => [
        info.id,
        info.feed,
        info.scopes.join(','),
        info.owner,
        info.createdAt,
        info.expiresAt ?? '-',
        info.revoked ? 'yes' : 'no',
      ]);
      const header = ['ID', 'FEED', 'SCOPES', 'OWNER', 'CREATED', 'EXPIRES', 'REVOKED'];
      for (const line of table(header, rows)) out.line(line);
      return 0;
    }
    case 'revoke': {
      const [id] = exactly(parse(rest, {}).positionals, 1, 'token revoke needs one token id');
      out.line(
        `revoked ${describe(await revokeTokenById(new TokenCache((await cliStorage()).tokensTable), id))}`,
      );
      return 0;
    }
    default:
      throw new UsageError(
        subcommand === undefined
          ? 'token needs create, list or revoke'
          : `unknown token command "${subcommand}"`,
      );
  }
}
