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
    destination ?? bufferedStdout(),
  );
}

/**
 * stdout, written in blocks of at least 4 KiB and at least once a second. One decision line per check otherwise
 * costs a write syscall per check: measured, that was most of tokengate's CPU per request above the transport at
 * low concurrency (bench/RESULTS.md). A crash can lose at most the last second of log lines; stop() flushes.
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), 1000).unref();
  return stream;
}
