import { TableClient } from '@azure/data-tables';

export type Row = Record<string, unknown>;

/** Every row of a table, without the service's own bookkeeping (ETag, timestamp). */
export async function allRows(table: TableClient): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const entity of table.listEntities()) {
    const { etag: _etag, timestamp: _timestamp, ...row } = entity as Row;
    rows.push(row);
  }
  return rows;
}

/** The rows that name any of the given strings (a packageUid, say) in any property. */
export function rowsNaming(rows: readonly Row[], needles: readonly string[]): Row[] {
  return rows.filter((row) => {
    const text = JSON.stringify(row);
    return needles.some((needle) => text.includes(needle));
  });
}

/** A row as text with its properties in a fixed order. */
export function rowText(row: Row): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1))),
  );
}

/**
 * Rows of one run in a form comparable with another run's: every string that names the run
 * (feed, package uids, blob ETags) is replaced by its role, and every number that reads as a
 * time of the test (first-indexed stamps) by <time>. Deliberately blind to the key table's layout,
 * so that it compares what was written, however it is written. Sorted.
 */
export function comparable(
  rows: readonly Row[],
  roles: Readonly<Record<string, string>>,
  timeWindow: readonly [number, number],
): string[] {
  const replacements = Object.entries(roles).sort(([a], [b]) => b.length - a.length);
  return rows
    .map((row) => {
      let text = rowText(row);
      for (const [from, to] of replacements) text = text.split(from).join(to);
      return text.replace(/\d{13,15}/g, (digits) => {
        const value = Number(digits);
        return value >= timeWindow[0] && value <= timeWindow[1] ? '<time>' : digits;
      });
    })
    .sort();
}
