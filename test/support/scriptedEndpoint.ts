import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A storage endpoint that answers each request with the next of `answers` (500 when none is
 * left) and records what was asked, for unit tests of symfeed's plain storage reads. Starts
 * before the file's tests, forgets its answers and requests before each, and stops after all.
 */
export interface ScriptedEndpoint {
  readonly answers: ((res: ServerResponse) => void)[];
  readonly seen: { url: string; headers: IncomingHttpHeaders }[];
  /** The endpoint's base URL, `http://127.0.0.1:{port}`. */
  origin(): string;
  /** Lets go of requests it never answered. */
  closeAllConnections(): void;
}

export function scriptedEndpoint(): ScriptedEndpoint {
  let server: Server;
  const answers: ScriptedEndpoint['answers'] = [];
  const seen: ScriptedEndpoint['seen'] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      const answer = answers.shift() ?? ((r: ServerResponse) => r.writeHead(500).end());
      answer(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  beforeEach(() => {
    answers.length = 0;
    seen.length = 0;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    answers,
    seen,
    origin: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closeAllConnections: () => server.closeAllConnections(),
  };
}
