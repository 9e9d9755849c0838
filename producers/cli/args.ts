/**
 * Pure command-line parsing shared by the sub-commands: `node:util` parseArgs with its errors
 * turned into UsageErrors naming the flag, `k=v` pairs, `<bucket>/<key>` arguments, bounded
 * integers, and the global and enqueue flags. Nothing here touches Redis, files or the environment.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ValidationError } from '../../shared/errors.js';
import type { ConfigOverrides } from '../../shared/config/config.js';
import { validateJob, type JobPayload } from '../../shared/jobs/index.js';
import { normalizeMetadata } from '../../shared/s3/metadata.js';
import { splitCopySource } from '../../shared/s3/validation.js';
import type { EnqueueOptions } from '../producer.js';
import { UsageError } from './exit-codes.js';
import { DEFAULT_WAIT_TIMEOUT_MS } from './wait-timeout.js';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  'redis-url': { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Flags of the commands that enqueue a job. */
export const ENQUEUE_OPTIONS = {
  profile: { type: 'string' },
  'job-id': { type: 'string' },
  priority: { type: 'string' },
  'delay-ms': { type: 'string' },
  attempts: { type: 'string' },
  'timeout-ms': { type: 'string' },
  wait: { type: 'boolean' },
  'wait-timeout-ms': { type: 'string' },
} as const satisfies OptionSpecs;

export { DEFAULT_WAIT_TIMEOUT_MS };
/** Longest per-job deadline a job may carry (the schema's bound: 7 days). */
const MAX_JOB_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export interface GlobalOptions {
  /** Config overrides from `--redis-url`, `--queue`, `--prefix` (undefined when not given). */
  overrides: ConfigOverrides;
  json: boolean;
}

/** What a command's parser returns: either "print help" or what to run. */
export type Parsed<T> = { help: true } | ({ help: false } & T);

/** Values as parseArgs returns them for our specs (strings, booleans, string lists). */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Runs parseArgs strictly. Unknown flags, missing values and extra positionals become UsageErrors
 * naming the flag and pointing at `s3jobs <command> --help`.
 */
export function parseCommandLine(
  command: string,
  argv: readonly string[],
  options: OptionSpecs,
  positionals: { names: readonly string[]; min?: number },
): { values: ParsedValues; positionals: string[] } {
  const hint = `(see 's3jobs ${command} --help')`;
  let parsed: { values: ParsedValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as { values: ParsedValues; positionals: string[] };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(--?[^'\s]+)/.exec(message)?.[1] ?? 'arguments';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(flag, `unknown flag for '${command}'; known: ${flagList(options)} ${hint}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/does not take an argument/.test(message)) throw new UsageError(flag, `is a switch and takes no value ${hint}`);
      if (/ambiguous/.test(message)) throw new UsageError(flag, `needs a value; for a value starting with "-" write ${flag}=VALUE ${hint}`);
      throw new UsageError(flag, `needs a value ${hint}`);
    }
    throw new UsageError('arguments', `${message} ${hint}`);
  }
  if (parsed.values.help === true) return parsed;
  const { names, min = names.length } = positionals;
  if (parsed.positionals.length > names.length) {
    const extra = parsed.positionals[names.length]!;
    throw new UsageError(JSON.stringify(extra), `unexpected argument; '${command}' takes ${names.length === 0 ? 'no arguments' : names.join(' ')} ${hint}`);
  }
  if (parsed.positionals.length < min) {
    const missing = names[parsed.positionals.length]!;
    throw new UsageError(missing, `is missing; usage: s3jobs ${command} ${names.join(' ')} [flags] ${hint}`);
  }
  return parsed;
}

function flagList(options: OptionSpecs): string {
  return Object.keys(options)
    .map((name) => `--${name}`)
    .join(', ');
}

/** A string flag's value (the last one if given twice), or undefined. */
export function stringFlag(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return typeof v === 'string' ? v : undefined;
}

/** All values of a repeatable string flag (declared `multiple: true`). */
export function listFlag(values: ParsedValues, name: string): string[] {
  const v = values[name];
  if (v === undefined || typeof v === 'boolean') return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function booleanFlag(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}

/**
 * `k=v` pairs of a repeatable flag into a record. The value may contain `=`; the name may not be
 * empty; a name given twice is refused (which one was meant?).
 */
export function parsePairs(raw: readonly string[], flag: string): Record<string, string> | undefined {
  if (raw.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new UsageError(flag, `${JSON.stringify(item)} is not name=value (write ${flag} name=value, once per pair)`);
    const name = item.slice(0, eq).trim();
    if (name === '') throw new UsageError(flag, `${JSON.stringify(item)} has an empty name (write ${flag} name=value)`);
    if (Object.hasOwn(out, name)) throw new UsageError(flag, `"${name}" is given twice; give each name once`);
    out[name] = item.slice(eq + 1);
  }
  return out;
}

/**
 * `name=value` metadata pairs, checked with the core's metadata rules here so the message names the
 * entry (`--metadata "bad name": is not a valid metadata name ...`). The pairs are returned as given.
 */
export function parseMetadataPairs(raw: readonly string[], flag: string): Record<string, string> | undefined {
  const pairs = parsePairs(raw, flag);
  if (pairs === undefined) return undefined;
  try {
    normalizeMetadata(pairs, flag);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const entry = err.field.startsWith(`${flag}.`) ? ` ${JSON.stringify(err.field.slice(flag.length + 1))}` : '';
    throw new UsageError(`${flag}${entry}`, err.message.slice(err.field.length + 2));
  }
  return pairs;
}

/** `<bucket>/<key>` into its parts; errors name the argument (`<src>`) and the part. */
export function parseObjectRef(raw: string, argument: string): { bucket: string; key: string } {
  try {
    return splitCopySource(raw, argument);
  } catch (err) {
    // splitCopySource names `<src>.bucket`; say `<src> bucket`.
    if (err instanceof ValidationError) throw new UsageError(err.field.replace(`${argument}.`, `${argument} `), err.message.slice(err.field.length + 2));
    throw err;
  }
}

/** A decimal integer within [min, max] (`_` separators allowed: 30_000). */
export function parseInteger(raw: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().replace(/_/g, '');
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(flag, `${JSON.stringify(raw)} is not allowed; give an integer from ${min} to ${max}`);
  return value;
}

export function globalsFrom(values: ParsedValues): GlobalOptions {
  return {
    overrides: { redisUrl: stringFlag(values, 'redis-url'), queue: stringFlag(values, 'queue'), prefix: stringFlag(values, 'prefix') },
    json: booleanFlag(values, 'json'),
  };
}

export interface WaitOptions {
  timeoutMs: number;
}

/** The enqueue flags into producer options, plus `--wait`. Range checks here, so errors name the flag. */
export function enqueueOptionsFrom(values: ParsedValues): { options: EnqueueOptions; wait: WaitOptions | undefined } {
  const options: EnqueueOptions = {};
  const jobId = stringFlag(values, 'job-id');
  if (jobId !== undefined) {
    if (!/^[A-Za-z0-9_.@/-]{1,200}$/.test(jobId) || /^\d+$/.test(jobId))
      throw new UsageError('--job-id', `${JSON.stringify(jobId)} is not allowed; give 1-200 letters, digits or _.@/- and not only digits (BullMQ reserves numeric ids)`);
    options.jobId = jobId;
  }
  options.priority = parseInteger(stringFlag(values, 'priority'), '--priority', 1, 2_097_152);
  options.delayMs = parseInteger(stringFlag(values, 'delay-ms'), '--delay-ms', 0, Number.MAX_SAFE_INTEGER);
  options.attempts = parseInteger(stringFlag(values, 'attempts'), '--attempts', 1, 100);
  const timeout = stringFlag(values, 'timeout-ms');
  if (timeout !== undefined) options.timeoutMs = timeout.trim().toLowerCase() === 'none' ? null : parseInteger(timeout, '--timeout-ms', 1, MAX_JOB_TIMEOUT_MS);
  const waitTimeout = parseInteger(stringFlag(values, 'wait-timeout-ms'), '--wait-timeout-ms', 1, MAX_JOB_TIMEOUT_MS);
  if (waitTimeout !== undefined && !booleanFlag(values, 'wait')) throw new UsageError('--wait-timeout-ms', 'only makes sense with --wait');
  const wait = booleanFlag(values, 'wait') ? { timeoutMs: waitTimeout ?? DEFAULT_WAIT_TIMEOUT_MS } : undefined;
  for (const key of Object.keys(options) as (keyof EnqueueOptions)[]) if (options[key] === undefined) delete options[key];
  return { options, wait };
}

/**
 * Validates a payload built from flags with the job registry's schemas, turning a ValidationError
 * on a payload field into a UsageError on the flag that set it. `flags` maps a payload field (or
 * its first path segment) to the flag or argument, e.g. `{ acl: '--acl', source: '<src>' }`.
 */
export function validatePayload(payload: unknown, flags: Record<string, string>): JobPayload {
  try {
    return validateJob(payload);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const problem = err.message.slice(err.field.length + 2);
    const [head = '', ...rest] = err.field.split('.');
    const flag = flags[err.field] ?? flags[head];
    if (flag === undefined) throw err;
    // metadata.x-note → "--metadata x-note"; source.bucket → "<src> (bucket)".
    const detail = rest.length === 0 ? '' : flag.startsWith('<') ? ` (${rest.join('.')})` : ` ${rest.join('.')}`;
    throw new UsageError(`${flag}${detail}`, problem);
  }
}

/** Maps a config field a global flag set back to that flag, for messages. */
export function flagForConfigField(field: string, overrides: ConfigOverrides): string | undefined {
  if (field === 'redisUrl' && overrides.redisUrl !== undefined) return '--redis-url';
  if (field === 'queue' && overrides.queue !== undefined) return '--queue';
  if (field === 'prefix' && overrides.prefix !== undefined) return '--prefix';
  return undefined;
}

/** A copy without the undefined fields (so payloads hold only what was given). */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
