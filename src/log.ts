import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Fields that may hold a credential. tokengate never logs a token on purpose; redaction makes sure an accidental
 * `log.info({ headers })` cannot either.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'headers["x-api-key"]',
  'secret',
  '*.secret',
  'base64',
  '*.base64',
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
