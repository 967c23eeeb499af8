import { KeyHolder, KeyRemoval, KeyWrites, TakenKey } from '../index/keyTable';
import { KeyRecord, KeySource } from '../index/location';
import { StorageClients } from '../storage/clients';
import { mapLimit } from '../util/mapLimit';
import { setWarningCount } from './packageTable';
import {
  readStatusDocumentForUpdate,
  replaceStatusDocument,
  StatusDocument,
} from './statusDocument';

/**
 * Design.md's precedence, told to both sides: when one package serves a key another offers too,
 * the one that does not serve it names the one that does (`servedBy`), and a package that took a
 * key over from another that still offers it names that one (`tookFrom`). These records are
 * structured in the status document; its warnings are derived from them.
 */

/** A key handed over between this package and another, as its status document records it. */
export interface KeyHandover {
  readonly key: string;
  /** This package's offer of the key. */
  readonly source: KeySource;
  /** `servedBy`: `other` serves the key instead; `tookFrom`: this package took it over from `other`. */
  readonly kind: 'servedBy' | 'tookFrom';
  readonly other: KeyHolder;
  readonly at: string;
}

/** Documents of other packages changed at once. */
const DOCUMENT_CONCURRENCY = 8;
/** Conditional writes of one document before it is given up as too busy (its rows are right). */
const DOCUMENT_ATTEMPTS = 10;

function why(winner: KeySource, loser: KeySource): string {
  if (winner === loser) return 'it was indexed earlier';
  return loser === 'upstream'
    ? 'a package of the feed beats a file fetched from an upstream'
    : 'an explicit mapping beats a derived key';
}

/** The warning a hand-over shows as. */
export function handoverWarning({ key, source, kind, other }: KeyHandover): string {
  return kind === 'servedBy'
    ? `key "${key}" is also offered by package "${other.blob}", which is served instead: ${why(other.source, source)}`
    : `key "${key}" was served from package "${other.blob}" until this package took it over: ${why(source, other.source)}`;
}

/** The document with these hand-overs, its warnings derived from them. */
export function withHandovers(
  doc: StatusDocument,
  handovers: readonly KeyHandover[],
): StatusDocument {
  const derived = new Set((doc.handovers ?? []).map(handoverWarning));
  const warnings = doc.warnings.filter((warning) => !derived.has(warning));
  return { ...doc, handovers, warnings: [...warnings, ...handovers.map(handoverWarning)] };
}

/**
 * The hand-overs of a package's own document after an indexing run wrote its rows: the keys it
 * lost and took in this run, and of what was recorded before, what still holds (a key taken over
 * earlier and still served by it).
 */
export function ownHandovers(
  previous: readonly KeyHandover[],
  keys: readonly KeyRecord[],
  writes: KeyWrites,
  at: string,
): KeyHandover[] {
  const offered = new Set(keys.map((record) => `${record.source}:${record.key}`));
  const fresh = new Set([...writes.lost, ...writes.taken].map((k) => `${k.source}:${k.key}`));
  const kept = previous.filter(
    (h) =>
      h.kind === 'tookFrom' &&
      offered.has(`${h.source}:${h.key}`) &&
      !fresh.has(`${h.source}:${h.key}`),
  );
  return [
    ...kept,
    ...writes.lost.map(({ key, source, winner }) => handover(key, source, 'servedBy', winner, at)),
    ...writes.taken.map(({ key, source, from }) => handover(key, source, 'tookFrom', from, at)),
  ];
}

function handover(
  key: string,
  source: KeySource,
  kind: KeyHandover['kind'],
  other: KeyHolder,
  at: string,
): KeyHandover {
  return { key, source, kind, other, at };
}

/** A change to one other package's hand-overs. */
type Edit =
  /** The key is served by `by` now. */
  | { op: 'servedBy'; key: string; source: KeySource; by: KeyHolder }
  /** The package serves the key itself now. */
  | { op: 'serves'; key: string }
  /** `from` no longer offers the key this package took from it. */
  | { op: 'gone'; key: string; from: string };

function apply(handovers: readonly KeyHandover[], edits: readonly Edit[], at: string) {
  let next = [...handovers];
  for (const edit of edits) {
    if (edit.op === 'gone') {
      next = next.filter(
        (h) => !(h.kind === 'tookFrom' && h.key === edit.key && h.other.packageUid === edit.from),
      );
      continue;
    }
    next = next.filter((h) => h.key !== edit.key);
    if (edit.op === 'servedBy') next.push(handover(edit.key, edit.source, 'servedBy', edit.by, at));
  }
  return next;
}

/**
 * Tells the other packages concerned what this package's writes and removals changed: a package
 * it took a key from, and those that key's previous server served in their place, now name it;
 * when it leaves a key, the package serving it next stops naming it, and the others name that
 * one. Each document is read, changed and written conditionally on what was read, once per
 * package however many of its keys changed.
 */
export async function tellOthers(
  storage: StorageClients,
  feed: string,
  self: { readonly packageUid: string; readonly blob: string },
  changes: { taken?: readonly TakenKey[]; removed?: readonly KeyRemoval[] },
): Promise<void> {
  const edits = new Map<string, Edit[]>();
  const add = (packageUid: string, edit: Edit) => {
    if (packageUid === self.packageUid) return;
    edits.set(packageUid, [...(edits.get(packageUid) ?? []), edit]);
  };
  for (const { key, source, from, others } of changes.taken ?? []) {
    const by = { ...self, source };
    for (const holder of [from, ...others]) add(holder.packageUid, servedBy(key, holder, by));
  }
  for (const { key, winner, handedOver, others } of changes.removed ?? []) {
    if (!handedOver) {
      add(winner.packageUid, { op: 'gone', key, from: self.packageUid });
      continue;
    }
    add(winner.packageUid, { op: 'serves', key });
    for (const holder of others) add(holder.packageUid, servedBy(key, holder, winner));
  }
  const at = new Date().toISOString();
  await mapLimit([...edits], DOCUMENT_CONCURRENCY, ([packageUid, list]) =>
    updateHandovers(storage, feed, packageUid, list, at),
  );
}

function servedBy(key: string, holder: KeyHolder, by: KeyHolder): Edit {
  return { op: 'servedBy', key, source: holder.source, by };
}

async function updateHandovers(
  storage: StorageClients,
  feed: string,
  packageUid: string,
  edits: readonly Edit[],
  at: string,
): Promise<void> {
  for (let attempt = 0; attempt < DOCUMENT_ATTEMPTS; attempt++) {
    const read = await readStatusDocumentForUpdate(storage.statusContainer, feed, packageUid);
    // A package with no document is not indexed yet: its own run will find out.
    if (!read) return;
    const next = withHandovers(read.doc, apply(read.doc.handovers ?? [], edits, at));
    if (await replaceStatusDocument(storage.statusContainer, next, read.version)) {
      await setWarningCount(storage.packagesTable, feed, packageUid, next.warnings.length);
      return;
    }
  }
  throw new Error(
    `the status document of package ${packageUid} kept changing under ${DOCUMENT_ATTEMPTS} attempts to record a hand-over`,
  );
}
