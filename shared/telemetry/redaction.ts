import { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs';
import { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { redactUrl } from '../feeds/access';

/**
 * No token leaves symfeed in telemetry: every span and log record passes through these before
 * any exporter sees it, and any text of them that holds `/auth/{token}` or a token of symfeed's
 * form is redacted as the logs are (redactUrl).
 */

/** A string redacted, an array item by item, a map value by value; anything else as it is. */
function redacted<T>(value: T): T {
  if (typeof value === 'string') return redactUrl(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redacted(item)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redacted(item)]),
    ) as T;
  }
  return value;
}

export class RedactingSpanProcessor implements SpanProcessor {
  onStart(span: Span): void {
    span.updateName(redactUrl(span.name));
  }

  /** Before the span ends, while it can still change: attributes set at any time are covered. */
  onEnding(span: Span): void {
    span.updateName(redactUrl(span.name));
    span.setAttributes(redacted(span.attributes));
    // Events (an exception's message and stack) have no setter; their attributes are plain maps.
    for (const event of span.events) {
      if (event.attributes) Object.assign(event.attributes, redacted(event.attributes));
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export class RedactingLogRecordProcessor implements LogRecordProcessor {
  onEmit(record: SdkLogRecord): void {
    if (record.body !== undefined) record.setBody(redacted(record.body));
    record.setAttributes(redacted(record.attributes));
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
