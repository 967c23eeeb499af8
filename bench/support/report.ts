/** One headline figure of the report: what it is, what it is compared with, and its aim. */
export interface Figure {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly baseline: number | null;
  readonly baselineLabel: string;
  /** The figure the aim applies to (a ratio, or the value itself for absolute aims). */
  readonly measured: number | null;
  readonly aim: { readonly op: '<=' | '>=' | '<'; readonly limit: number };
}

export function met(figure: Figure): boolean | null {
  if (figure.measured === null) return null;
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

export function figuresTable(figures: readonly Figure[]): string {
  return table(
    ['figure', 'value', 'baseline', 'ratio/measured', 'aim', 'met'],
    figures.map((f) => {
      const ok = met(f);
      return [
        f.name,
        `${fmt(f.value)} ${f.unit}`.trim(),
        f.baseline === null ? `- ${f.baselineLabel}` : `${fmt(f.baseline)} ${f.baselineLabel}`,
        fmt(f.measured),
        `${f.aim.op} ${fmt(f.aim.limit)}`,
        ok === null ? 'n/a' : ok ? 'met' : 'NOT MET',
      ];
    }),
  );
}
