import { latencyAims } from '../scenarios/latency';
import { fmt } from './report';

/** The part of latest.json the README's tables are made of. */
export interface BenchReport {
  readonly quick: boolean;
  readonly date: string;
  readonly durationSeconds: number;
  /** The commit measured (see codeVersion); runs before it was recorded have none. */
  readonly code?: string;
  readonly machine: { cpu: string; cores: number; memoryGB: number; node: string };
  readonly aims: Record<string, { aim: string; met: boolean | null }>;
  readonly latencyModel?: {
    readonly storageLatencyMs: number;
    readonly ttfbRatioVsRawBlob: Record<string, number | null>;
    readonly storageRoundTripsPerColdHit: Record<string, number | null>;
    readonly overheadMs: Record<string, number | null>;
  };
  readonly details?: {
    readonly latencyModel?: { readonly classes: readonly { target: string; size: number }[] };
  };
}

/**
 * The loopback figures, by their path in latest.json: the aims come from the run's own `aims`.
 * A field a run does not have shows as '-'.
 */
const LOOPBACK_FIELDS = [
  'requestsPerSecond',
  'ttfbRatioVsRawBlob',
  'throughputRatioVsRawBlob',
  'gzipThroughputRatioVsRawBlob',
  'inflateRatioVsZlib',
  'crcCostPercent',
  'burstMBps',
  'burstRatioVsRawBlob',
  'privateRpsRatio',
  'vsDebuginfod.rpsRatio',
  'vsDebuginfod.p99Ratio',
  'soak.requestsPerSecond',
  'soak.errors',
  'soak.rssGrowthPercent',
  'indexKeysPerSecond',
  'indexPeakRssMB',
  'scaleP99Ratio',
  'nuget.listP99Ms',
  'nuget.listP99Ratio',
  'nuget.registrationP99Ms',
  'nuget.registrationP99Ratio',
] as const;

function valueAt(report: BenchReport, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (at, part) =>
        at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined,
      report,
    );
}

const number = (value: unknown) => (typeof value === 'number' ? fmt(value) : '-');
const mark = (met: boolean | null | undefined) => (met === false ? ' ✗' : met ? ' ✓' : '');
const aimText = (aim: string) => aim.replace('>=', '≥').replace('<=', '≤');
const runLabel = (report: BenchReport) =>
  `${report.quick ? 'quick' : 'full'}, ${report.date.slice(0, 10)}`;

function markdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * The README's tables from the last quick and full runs, side by side: the loopback figures
 * (Azurite on loopback, as measured since the first benchmark), then the latency model's (every
 * storage response held back by the given milliseconds), per size class. ✓ and ✗ say whether a
 * figure met its aim.
 */
export function markdownTables(runs: readonly BenchReport[]): string {
  const loopback = markdown(
    ['figure (loopback)', 'aim', ...runs.map(runLabel)],
    LOOPBACK_FIELDS.map((field) => {
      const aim = runs.map((r) => r.aims[field]?.aim).find(Boolean);
      return [
        `\`${field}\``,
        aim ? aimText(aim) : 'none',
        ...runs.map((r) => `${number(valueAt(r, field))}${mark(r.aims[field]?.met)}`),
      ];
    }),
  );
  const classes = runs
    .flatMap((r) => r.details?.latencyModel?.classes ?? [])
    .filter((c, i, all) => all.findIndex((o) => o.target === c.target) === i);
  const latencyCell = (report: BenchReport, target: string, size: number) => {
    const model = report.latencyModel;
    if (!model) return '-';
    const aims = latencyAims(size);
    const ratio = model.ttfbRatioVsRawBlob[target] ?? null;
    const trips = model.storageRoundTripsPerColdHit[target] ?? null;
    const overhead = model.overheadMs[target] ?? null;
    const within = (value: number | null, limit: number | null) =>
      value === null || limit === null ? null : value <= limit;
    return [
      `${number(ratio)}${mark(within(ratio, aims.ratio))}`,
      `${number(trips)}${mark(within(trips, aims.roundTrips))}`,
      // Below 0, the bench's direct storage requests were the slower: noise, met or missed by nothing.
      `${number(overhead)}${mark(overhead !== null && overhead < 0 ? null : within(overhead, aims.overheadMs))}`,
    ].join(' / ');
  };
  const latency = markdown(
    [
      'size class (latency model)',
      'aim: TTFB ratio / round trips / overhead ms',
      ...runs.map(
        (r) =>
          `${runLabel(r)}, +${r.latencyModel?.storageLatencyMs ?? '-'} ms per storage response`,
      ),
    ],
    classes.map((c) => {
      const aims = latencyAims(c.size);
      return [
        c.target,
        `${aims.ratio === null ? '-' : `≤ ${aims.ratio}`} / ≤ ${aims.roundTrips} / ≤ ${aims.overheadMs}`,
        ...runs.map((r) => latencyCell(r, c.target, c.size)),
      ];
    }),
  );
  const machines = runs.map(
    (r) =>
      `${runLabel(r)}: ${r.code ? `commit ${r.code}, ` : ''}${r.durationSeconds} s on ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGB} GB, Node ${r.machine.node}`,
  );
  return [loopback, '', latency, '', ...machines.map((m) => `- ${m}`)].join('\n');
}
