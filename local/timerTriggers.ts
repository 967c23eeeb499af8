import { Timer } from '@azure/functions';
import { CronExpressionParser } from 'cron-parser';
import { DefinitionOf } from '../functions/definition';
import { invocationContext, LogLine } from './invocation';

/**
 * Runs timer-triggered functions on their NCRONTAB schedules (six fields, seconds first, UTC),
 * one invocation at a time per function, as the Functions host does.
 */
export function startTimers(
  definitions: readonly DefinitionOf<'timer'>[],
  log: LogLine,
): { stop(): void } {
  const handles = new Set<NodeJS.Timeout>();
  let stopped = false;
  for (const definition of definitions) {
    const schedule = CronExpressionParser.parse(definition.options.schedule, { tz: 'UTC' });
    let last = new Date();
    const run = async (due: number) => {
      const now = new Date();
      const timer: Timer = {
        isPastDue: now.getTime() - due > 1_000,
        schedule: { adjustForDST: false },
        scheduleStatus: {
          last: last.toISOString(),
          next: new Date(due).toISOString(),
          lastUpdated: now.toISOString(),
        },
      };
      last = now;
      try {
        await definition.options.handler(timer, invocationContext(definition.name, log));
      } catch (error) {
        log(`${definition.name}: run failed: ${(error as Error).message}`);
      }
    };
    const arm = () => {
      if (stopped) return;
      const due = schedule.next().getTime();
      const handle = setTimeout(
        () => {
          handles.delete(handle);
          void run(due).then(arm);
        },
        Math.max(0, due - Date.now()),
      );
      handles.add(handle);
    };
    arm();
  }
  return {
    stop() {
      stopped = true;
      handles.forEach(clearTimeout);
    },
  };
}
