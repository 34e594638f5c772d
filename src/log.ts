/**
 * The process logger. Structured JSON (pino) to stdout. Request logs carry identity,
 * model, provider, status and timing, never headers or bodies: those hold credentials.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      // Defence in depth: should a credential-bearing field ever reach a log call, it is hidden.
      redact: {
        paths: ['headers.authorization', 'headers["x-api-key"]', 'headers["x-goog-api-key"]', 'apikey', '*.apikey'],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
