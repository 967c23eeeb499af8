import { HttpRequest, InvocationContext, LogLevel } from '@azure/functions';
import { FunctionDefinition } from '../../functions/definition';
import { loggingFailures } from '../../functions/failures';

/** Handlers that fail in each way, behind the wrapper functions/all.ts puts on every route. */
function wrapped(handler: () => Promise<{ status: number; body?: string; cause?: string }>) {
  const [definition] = loggingFailures([
    { kind: 'http', name: 'probe', options: { route: 'probe', handler } },
  ] satisfies FunctionDefinition[]);
  if (definition?.kind !== 'http') throw new Error('an HTTP definition stays one');
  return definition.options.handler;
}

function call(handler: ReturnType<typeof wrapped>) {
  const lines: { level: LogLevel; text: string }[] = [];
  const context = new InvocationContext({
    functionName: 'probe',
    invocationId: 'invocation-1',
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
  const token = 'sf_0123456789abcdef0123456789abcdef0123456789a';
  const request = new HttpRequest({
    method: 'GET',
    url: `http://localhost/F/priv/auth/${token}/symbols/a?x=1`,
  });
  return { result: handler(request, context), lines, token };
}

it('logs one JSON line with the cause for a 5xx answer that gives one', async () => {
  const { result, lines, token } = call(
    wrapped(async () => ({ status: 503, cause: 'storage: connect ECONNREFUSED' })),
  );
  await expect(result).resolves.toMatchObject({ status: 503 });
  expect(lines).toHaveLength(1);
  expect(lines[0]!.level).toBe('error');
  expect(JSON.parse(lines[0]!.text)).toEqual({
    event: 'symfeed.failed_answer',
    function: 'probe',
    invocationId: 'invocation-1',
    method: 'GET',
    path: '/F/priv/auth/[redacted]/symbols/a',
    status: 503,
    cause: 'storage: connect ECONNREFUSED',
  });
  expect(lines[0]!.text).not.toContain(token);
});

it("quotes the answer's own message when it gives no cause", async () => {
  const { result, lines } = call(wrapped(async () => ({ status: 500, body: 'Broken file.\n' })));
  await result;
  expect(JSON.parse(lines[0]!.text)).toMatchObject({
    status: 500,
    cause: 'the answer says: Broken file.',
  });
});

it('logs a handler that throws and lets the error reach the host', async () => {
  const { result, lines } = call(
    wrapped(async () => {
      throw new Error('bug');
    }),
  );
  await expect(result).rejects.toThrow('bug');
  expect(JSON.parse(lines[0]!.text)).toMatchObject({ status: 500, cause: 'unhandled: bug' });
});

it('writes nothing for answers that are not 5xx', async () => {
  for (const status of [200, 404, 401]) {
    const { result, lines } = call(wrapped(async () => ({ status })));
    await result;
    expect(lines).toEqual([]);
  }
});
