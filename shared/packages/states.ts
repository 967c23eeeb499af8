/** Package states, from the SymbolSource design (seeds/). */
export const PACKAGE_STATES = [
  'new',
  'original',
  'damaged',
  'indexingqueued',
  'indexing',
  'succeeded',
  'deletingqueued',
  'deleting',
  'deleted',
  'partial',
] as const;

export type PackageState = (typeof PACKAGE_STATES)[number];

/** States an indexing run ends in; a package in one of them with an unchanged blob is done. */
export const INDEXED_STATES: ReadonlySet<PackageState> = new Set([
  'succeeded',
  'partial',
  'damaged',
]);

/** A delete has been asked for or is under way: the package must not be indexed again. */
export const DELETING_STATES: ReadonlySet<PackageState> = new Set(['deletingqueued', 'deleting']);

export interface StateChange {
  readonly state: PackageState;
  readonly at: string;
  readonly reason?: string;
}
