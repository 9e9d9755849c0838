import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { scrubSecrets } from './scrub-secrets.js';

export type { Logger };
export { scrubSecrets };

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log record. Belt and braces:
 * the code never logs credentials on purpose, and this catches the accident.
 */
export const REDACT_PATHS = [
  'secretKey',
  'secretAccessKey',
  'sessionToken',
  'password',
  'authorization',
  '*.secretKey',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.password',
  '*.authorization',
  '*.*.secretKey',
  '*.*.sessionToken',
  'headers.authorization',
  'headers["x-amz-security-token"]',
  'config.profiles.*.secretKey',
  'config.profiles.*.sessionToken',
];

export function createLogger(options: { level?: LoggerOptions['level']; name?: string } = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    name: options.name ?? 's3jobs',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: (err: unknown) => {
        const serialized = pino.stdSerializers.err(err as Error);
        if (typeof serialized.message === 'string') serialized.message = scrubSecrets(serialized.message);
        if (typeof serialized.stack === 'string') serialized.stack = scrubSecrets(serialized.stack);
        return serialized;
      },
    },
  };
  return destination === undefined ? pino(opts) : pino(opts, destination);
}
