import { InvocationContext, LogLevel } from '@azure/functions';

export type LogLine = (line: string) => void;

/** The context the Functions host gives every invocation, with logs going to the host's log. */
export function invocationContext(
  functionName: string,
  log: LogLine,
  triggerMetadata: Record<string, unknown> = {},
): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: crypto.randomUUID(),
    triggerMetadata,
    logHandler: (level: LogLevel, ...args: unknown[]) =>
      log(`${functionName} [${level}] ${args.map(String).join(' ')}`),
  });
}
