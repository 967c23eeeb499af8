/**
 * The URLs of a feed and the lines that point each debugger and NuGet at them: one source for
 * what `npm start` prints and what the web page shows. A private feed's lines carry `<token>`
 * where a read token goes, never a token.
 */
export interface ClientSetup {
  readonly symbols: string;
  readonly nuget: string;
  readonly debuginfod: string;
  readonly lines: readonly { readonly client: string; readonly line: string }[];
}

export const TOKEN_PLACEHOLDER = '<token>';

export function clientSetup(baseUrl: string, feed: string, isPrivate: boolean): ClientSetup {
  const name = encodeURIComponent(feed);
  // Debuggers' symbol paths carry no headers: a private feed's token goes in the path.
  const root = `${baseUrl}/F/${name}${isPrivate ? `/auth/${TOKEN_PLACEHOLDER}` : ''}`;
  const symbols = `${root}/symbols`;
  const nuget = `${baseUrl}/F/${name}/api/v3/index.json`;
  return {
    symbols,
    nuget,
    debuginfod: root,
    lines: [
      { client: 'Visual Studio', line: `Tools > Options > Debugging > Symbols, add ${symbols}` },
      { client: 'WinDbg', line: `.sympath srv*C:\\symbols*${symbols}` },
      { client: 'dotnet-symbol', line: `dotnet-symbol --server-path ${symbols} <dump or binary>` },
      { client: 'debuginfod', line: `DEBUGINFOD_URLS=${root}` },
      // gdb asks before it uses debuginfod; this answers once for all sessions.
      { client: 'gdb', line: `gdb -iex "set debuginfod enabled on" <program>` },
    ],
  };
}
