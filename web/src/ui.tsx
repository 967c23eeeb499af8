import { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  readonly data?: T;
  readonly error?: ApiError | Error;
  readonly loading: boolean;
  readonly reload: () => void;
}

/** Runs `load` when `deps` change; a late answer to an older call is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((old) => ({ ...old, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: Error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

export function Problem({ error }: { error?: Error }) {
  if (!error) return null;
  return (
    <p class="problem" role="alert">
      {error.message}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null;
}

/** A value with a button that copies it; the result is announced to screen readers. */
export function Copyable({ label, value }: { label: string; value: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setSaid('Copied');
    } catch {
      setSaid('Copy failed: select the text instead');
    }
    setTimeout(() => setSaid(''), 2000);
  };
  return (
    <div class="copyable">
      <span class="copy-label">{label}</span>
      <code>{value}</code>
      <button type="button" onClick={copy} aria-label={`Copy ${label}`}>
        Copy
      </button>
      <span class="muted" aria-live="polite">
        {said}
      </span>
    </div>
  );
}

export function bytes(count: number): string {
  if (count < 1024) return `${count} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const time = (iso: string | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';

export function StateBadge({ state }: { state: string }) {
  const tone =
    state === 'succeeded'
      ? 'good'
      : state === 'damaged' || state === 'partial'
        ? 'bad'
        : state.startsWith('delet')
          ? 'muted'
          : 'warn';
  return <span class={`badge ${tone}`}>{state}</span>;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/**
 * A token typed in and tried: kept (in this tab's session storage) while `check` runs, dropped
 * again when `check` refuses it, so a bad token never lingers.
 */
export function TokenForm({
  label,
  button,
  className,
  keep,
  check,
}: {
  label: string;
  button: string;
  className: string;
  keep: (token: string | null) => void;
  check: () => Promise<void>;
}) {
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState<Error | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    keep(draft.trim());
    try {
      await check();
      setProblem(undefined);
      setDraft('');
    } catch (error) {
      keep(null);
      setProblem(error as Error);
    }
  };
  return (
    <form class={className} onSubmit={submit}>
      <label>
        {label}
        <input
          type="password"
          name="token"
          autocomplete="off"
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          required
        />
      </label>
      <button type="submit">{button}</button>
      <Problem error={problem} />
    </form>
  );
}
