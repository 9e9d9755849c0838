import { ErrorCodes, ValidationError } from '../errors.js';
import { BATCH_KINDS, JOB_KINDS, MAX_BATCH_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES, SCHEMAS, type JobKind, type JobPayload, type JobPayloadOf } from './payloads.js';

/**
 * Field names that would carry credentials. A payload containing one is refused outright with a
 * message saying where credentials belong, even before schema validation (which would also refuse
 * it as an unknown field, but less helpfully).
 */
const SECRET_FIELD = /^(secret|secretkey|secret_key|secretaccesskey|secret_access_key|sessiontoken|session_token|password|passwd|accesskey|access_key|accesskeyid|credentials|authorization|token)$/i;

/**
 * Dotted paths of every secret-looking field name in `value`, in depth-first order.
 *
 * Walks with an explicit stack, not recursion: a payload nested thousands of levels deep fits
 * within MAX_PAYLOAD_BYTES (`[[[…]]]` costs 2 bytes a level), and recursing into it overflowed
 * the call stack — `validateJob` threw a RangeError instead of a ValidationError.
 */
export function findSecretFields(value: unknown, path = ''): string[] {
  const found: string[] = [];
  const pending: { name: string; child: unknown; here: string }[] = [];
  const push = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object') return;
    const entries = Object.entries(node);
    // Reversed, so that entries come off the stack in their own order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [name, child] = entries[i]!;
      pending.push({ name, child, here: at === '' ? name : `${at}.${name}` });
    }
  };
  push(value, path);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    // Metadata names are user data, but a metadata entry called "password" is still refused:
    // metadata is readable by anyone who can HEAD the object.
    if (SECRET_FIELD.test(next.name)) found.push(next.here);
    push(next.child, next.here);
  }
  return found;
}

function isKind(value: unknown): value is JobKind {
  return typeof value === 'string' && (JOB_KINDS as readonly string[]).includes(value);
}

/**
 * Validates an untrusted payload (a producer's input, or a job read from Redis) into a typed job.
 * Throws a ValidationError with code `S3JOBS_INVALID_JOB`, naming the field, what was wrong and what
 * is allowed; never retryable.
 */
export function validateJob(data: unknown, expectedKind?: JobKind): JobPayload {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ValidationError('job', 'must be an object with a "kind" field', ErrorCodes.InvalidJob);
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(data));
  } catch {
    throw new ValidationError('job', 'is not serialisable as JSON', ErrorCodes.InvalidJob);
  }
  // Batches carry many keys; every other kind is one object or one bucket.
  const limit = (BATCH_KINDS as readonly unknown[]).includes((data as { kind?: unknown }).kind) ? MAX_BATCH_PAYLOAD_BYTES : MAX_PAYLOAD_BYTES;
  if (size > limit) throw new ValidationError('job', `is ${size} bytes; payloads are limited to ${limit} bytes`, ErrorCodes.InvalidJob);
  const secrets = findSecretFields(data);
  if (secrets.length > 0)
    throw new ValidationError(
      secrets[0]!,
      'looks like a credential; job payloads are stored in Redis and must not carry secrets. Name a connection profile in "profile" and define its credentials in the worker configuration',
      ErrorCodes.InvalidJob,
    );
  const kind = (data as { kind?: unknown }).kind;
  if (!isKind(kind)) throw new ValidationError('kind', `${JSON.stringify(kind) ?? 'undefined'} is not a job kind; allowed: ${JOB_KINDS.join(', ')}`, ErrorCodes.InvalidJob);
  if (expectedKind !== undefined && kind !== expectedKind) throw new ValidationError('kind', `is "${kind}" but this job was queued as "${expectedKind}"`, ErrorCodes.InvalidJob);
  const result = SCHEMAS[kind].safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length === 0 ? 'job' : issue.path.map(String).join('.');
    const extra = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem${result.error.issues.length > 2 ? 's' : ''})` : '';
    throw new ValidationError(field, `${issue.message}${extra}`, ErrorCodes.InvalidJob);
  }
  return result.data as JobPayload;
}

/** `validateJob` narrowed to one kind. */
export function validateJobOf<K extends JobKind>(kind: K, data: unknown): JobPayloadOf<K> {
  return validateJob(data, kind) as JobPayloadOf<K>;
}
