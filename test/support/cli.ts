import { Output } from '../../cli/output';
import { main } from '../../cli/symfeed';

/** Runs the symfeed command in this process and collects what it printed. */
export async function runCli(...args: string[]) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const out: Output = {
    line: (text) => lines.push(text),
    note: (text) => warnings.push(text),
    warn: (text) => warnings.push(text),
  };
  const code = await main(args, out);
  return { code, lines, warnings, text: [...lines, ...warnings].join('\n') };
}
