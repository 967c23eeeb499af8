/** One headline figure of the report: what it is, what it is compared with, and its aim. */
export interface Figure {
  readonly name: string;
  /** Its path in latest.json, where its aim is recorded; default: the name's first word. */
  readonly key?: string;
  /** Azurite as it is, or behind the delay proxy of the latency model. */
  readonly regime: 'loopback' | 'latency';
  readonly value: number | null;
  readonly unit: string;
  readonly baseline: number | null;
  readonly baselineLabel: string;
  /** The figure the aim applies to (a ratio, or the value itself for absolute aims). */
  readonly measured: number | null;
  /** None for a figure only reported (a burst's MB/s). */
  readonly aim?: { readonly op: '<=' | '>=' | '<'; readonly limit: number };
}

export function met(figure: Figure): boolean | null {
  if (figure.measured === null || !figure.aim) return null;
  switch (figure.aim.op) {
    case '<=':
      return figure.measured <= figure.aim.limit;
    case '<':
      return figure.measured < figure.aim.limit;
    case '>=':
      return figure.measured >= figure.aim.limit;
  }
}

export function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (Number.isInteger(value) && Math.abs(value) < 1000) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toFixed(digits);
}

/** A plain text table, columns padded to their widest cell, numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const numeric = header.map((_, i) =>
    rows.every((row) => /^[-\d.,]+( ?[%x])?$|^-$/.test(row[i] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function figureKey(figure: Figure): string {
  return figure.key ?? (figure.name.split(' ')[0] as string);
}

export function figuresTable(figures: readonly Figure[], latencyMs: number): string {
  return table(
    ['figure', 'storage', 'value', 'baseline', 'ratio/measured', 'aim', 'met'],
    figures.map((f) => {
      const ok = met(f);
      return [
        f.name,
        f.regime === 'loopback' ? 'loopback' : `+${latencyMs} ms`,
        `${fmt(f.value)} ${f.unit}`.trim(),
        f.baseline === null ? `- ${f.baselineLabel}` : `${fmt(f.baseline)} ${f.baselineLabel}`,
        fmt(f.measured),
        f.aim ? `${f.aim.op} ${fmt(f.aim.limit)}` : 'none',
        ok === null ? 'n/a' : ok ? 'met' : 'NOT MET',
      ];
    }),
  );
}
