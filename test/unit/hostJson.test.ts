import { readFileSync } from 'node:fs';
import path from 'node:path';
import { queueHostSettings, queueSettingsOf } from '../../shared/config/hostJson';

describe('queue settings from host.json', () => {
  it('are those of the host.json beside the code', () => {
    const file = JSON.parse(readFileSync(path.join(__dirname, '../../host.json'), 'utf8')) as {
      extensions: { queues: Record<string, unknown> };
    };
    const { queues } = file.extensions;
    expect(queueHostSettings()).toEqual({
      batchSize: queues.batchSize,
      newBatchThreshold: queues.newBatchThreshold,
      maxDequeueCount: queues.maxDequeueCount,
      visibilityTimeoutSeconds: 30,
      maxPollingIntervalMs: 2_000,
      messageEncoding: queues.messageEncoding,
    });
  });

  it('read time spans as .NET writes them', () => {
    const of = (visibilityTimeout: string) =>
      queueSettingsOf({ extensions: { queues: { visibilityTimeout } } }).visibilityTimeoutSeconds;
    expect(of('00:00:30')).toBe(30);
    expect(of('01:02:03')).toBe(3_723);
    expect(of('1.00:00:00.5')).toBe(86_400.5);
  });

  it('take the Functions host’s defaults for what host.json leaves out', () => {
    expect(queueSettingsOf({ version: '2.0' })).toMatchObject({
      batchSize: 16,
      maxDequeueCount: 5,
      visibilityTimeoutSeconds: 0,
      maxPollingIntervalMs: 60_000,
      messageEncoding: 'base64',
    });
  });

  it('name what is wrong', () => {
    expect(() =>
      queueSettingsOf({
        extensions: {
          queues: { batchSize: 64, visibilityTimeout: '30s', messageEncoding: 'utf8' },
        },
      }),
    ).toThrow(
      /^host\.json: extensions\.queues\.batchSize .*32.*; extensions\.queues\.visibilityTimeout must be a time span, hh:mm:ss such as 00:00:30; extensions\.queues\.messageEncoding /,
    );
  });
});
