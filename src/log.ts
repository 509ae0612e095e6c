import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Fields that may hold a credential. tokengate never logs a token on purpose; redaction makes sure an accidental
 * `log.info({ headers })` cannot either. Explicit paths only: wildcard paths (`*.token`) made every log line cost
 * about 10 µs more, and a decision line is written for every check.
 */
export const REDACT_PATHS = [
  'token',
  'authorization',
  'cookie',
  'secret',
  'base64',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'request.headers.authorization',
  'request.headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tokengate', pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
