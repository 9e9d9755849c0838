import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

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

/** Query parameters of a presigned URL that must never reach a log. */
const SIGNATURE_PARAM = /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"]*/gi;

/**
 * The signature of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 * Signature=<hex>` header, which a server or proxy may echo back in an error message: it
 * authorises replaying that request for as long as its date is accepted.
 */
const AUTHORIZATION_SIGNATURE = /(\bSignature=)[0-9a-f]{16,}/gi;

/** Removes presigned-URL signatures and credentials, and request signatures, from a string. */
export function scrubSecrets(text: string): string {
  return text.replace(SIGNATURE_PARAM, '$1[redacted]').replace(AUTHORIZATION_SIGNATURE, '$1[redacted]');
}

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
