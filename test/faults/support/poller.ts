/** A file a 200 may carry: these bytes, from this package blob (feed/name). */
export interface Served {
  readonly bytes: Buffer;
  readonly blob: string;
}

/** A key the poller asks for, and what a correct answer to it is. */
export interface Probe {
  readonly key: string;
  /** The files a 200 may carry (one, or two while a key passes from one package to another). */
  readonly accept: readonly Served[];
  /** When false, 404 is a correct answer too (the key's package is still being indexed, say). */
  readonly mustServe: boolean;
}

export interface PollerFigures {
  readonly requests: number;
  readonly statuses: Record<string, number>;
  /** Answers that were wrong: wrong bytes, wrong package, a status no client should see. */
  readonly wrong: readonly string[];
  /** Requests that got no HTTP answer (the host was down), with when. */
  readonly unanswered: readonly { at: number; message: string }[];
}

/**
 * Asks for keys over and over while a fault is injected, and checks every answer: a 200 carries
 * exactly the right bytes from the right package, whatever is half done behind it.
 */
export class Poller {
  private running = true;
  private workers: Promise<void>[] = [];
  private requests = 0;
  private readonly statuses: Record<string, number> = {};
  private readonly wrong: string[] = [];
  private readonly unanswered: { at: number; message: string }[] = [];
  /** Keys that have been answered 200 at least once, and 404. */
  readonly served = new Set<string>();
  readonly missed = new Set<string>();

  constructor(
    private readonly symbols: string,
    private readonly probes: readonly Probe[],
    concurrency = 2,
  ) {
    for (let worker = 0; worker < concurrency; worker++) {
      this.workers.push(this.run(worker, concurrency));
    }
  }

  private async run(worker: number, concurrency: number): Promise<void> {
    for (let i = worker; this.running; i += concurrency) {
      const probe = this.probes[i % this.probes.length] as Probe;
      const unanswered = this.unanswered.length;
      const problem = await this.ask(probe);
      if (problem) this.wrong.push(problem);
      // The host is down: do not spin.
      if (this.unanswered.length > unanswered) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** One request; returns what is wrong with its answer, if anything. */
  async ask(probe: Probe): Promise<string | undefined> {
    let response: Response;
    this.requests++;
    try {
      response = await fetch(`${this.symbols}/${probe.key}`, {
        signal: AbortSignal.timeout(20_000),
      });
    } catch (error) {
      this.unanswered.push({ at: Date.now(), message: String((error as Error).cause ?? error) });
      return undefined;
    }
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      // A response cut off by the kill is no answer either.
      this.unanswered.push({ at: Date.now(), message: `body: ${String(error)}` });
      return undefined;
    }
    this.statuses[response.status] = (this.statuses[response.status] ?? 0) + 1;
    if (response.status === 200) {
      this.served.add(probe.key);
      const blob = decodeURIComponent(response.headers.get('x-symfeed-package') ?? '');
      const file = probe.accept.find((candidate) => candidate.blob === blob);
      if (!file) return `${probe.key}: served from ${blob}, not ${probe.accept.map((f) => f.blob)}`;
      if (!body.equals(file.bytes)) {
        return `${probe.key}: 200 from ${blob} with ${body.length} bytes that are not the ${file.bytes.length} of its entry`;
      }
      return undefined;
    }
    if (response.status === 404) this.missed.add(probe.key);
    if (response.status === 404 && !probe.mustServe) return undefined;
    return `${probe.key}: ${response.status} ${body.toString().slice(0, 200).trim()}`;
  }

  /** Resolves once `done` holds, checking every 50 ms; rejects after `timeoutMs`. */
  async until(done: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<PollerFigures> {
    this.running = false;
    await Promise.all(this.workers);
    return {
      requests: this.requests,
      statuses: this.statuses,
      wrong: this.wrong,
      unanswered: this.unanswered,
    };
  }
}

/** One line of figures per fault for the CI log: what was injected and what was observed. */
export function reportFigures(fault: string, figures: Record<string, unknown>): void {
  process.stderr.write(`[fault] ${fault}: ${JSON.stringify(figures)}\n`);
}
