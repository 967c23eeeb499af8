import { recordingProxy, RecordingProxy } from './recordingProxy';
import { startStack, Stack } from './stack';

/** Where the packages' blobs are read, as the proxy sees the path. */
const PACKAGE_READS = '/devstoreaccount1/packages/';

/** A stack whose blob reads go through a recording proxy, which counts them. */
export interface CountedStack {
  readonly stack: Stack;
  /** A symbol request's status and body, and how many package reads it took. */
  get(key: string): Promise<{ status: number; body: Buffer; blobReads: number }>;
  stop(): Promise<void>;
}

export async function startCountedStack(env: Record<string, string>): Promise<CountedStack> {
  let proxy: RecordingProxy | undefined;
  const stack = await startStack(env, {
    blobPort: async (port) => {
      proxy = await recordingProxy(`http://127.0.0.1:${port}`);
      return Number(new URL(proxy.url).port);
    },
  });
  const counter = proxy!;
  const packageReads = () =>
    counter.exchanges.filter((e) => e.method === 'GET' && e.path.startsWith(PACKAGE_READS)).length;
  return {
    stack,
    async get(key) {
      const before = packageReads();
      const response = await fetch(`${stack.symbols}/${key}`);
      const body = Buffer.from(await response.arrayBuffer());
      return { status: response.status, body, blobReads: packageReads() - before };
    },
    async stop() {
      await stack.stop();
      await counter.stop();
    },
  };
}
