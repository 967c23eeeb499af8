// First: with APPLICATIONINSIGHTS_CONNECTION_STRING set, OpenTelemetry starts before
// `@azure/functions` and `http` load, so that their instrumentation applies.
import '../shared/telemetry/start';
import { app } from '@azure/functions';
import { settings } from '../shared/config/settings';
import { definitions } from './all';

// Fail at start-up, naming the bad setting, rather than on the first request.
settings();

// Streams responses instead of buffering them: a 2 GB PDB must never sit in memory.
app.setup({ enableHttpStream: true });

for (const definition of definitions) {
  switch (definition.kind) {
    case 'http':
      app.http(definition.name, definition.options);
      break;
    case 'queue':
      app.storageQueue(definition.name, definition.options);
      break;
    case 'timer':
      app.timer(definition.name, definition.options);
      break;
  }
}
