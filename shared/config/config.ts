/**
 * Configuration, parsed once at the edge (process start) into one typed, validated object.
 *
 * Precedence, lowest to highest: built-in defaults < JSON config file (`S3JOBS_CONFIG`) <
 * environment variables < explicit overrides (CLI flags). Everything below the edge takes the
 * resulting `S3JobsConfig` and never reads `process.env` itself.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorCodes, S3JobsError, ValidationError } from '../errors.js';
import { assertClusterPrefix, isClusterUrl, parseRedisUrl, redactClusterUrl } from '../queue/redis-url.js';
import { PROVIDER_NAMES, providerProfile, type ProviderName } from '../s3/store-profile.js';

/** Credentials and location of one S3 service. Jobs name a profile; only workers hold these. */
export interface ConnectionProfile {
  endpoint?: string | undefined;
  region: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string | undefined;
  forcePathStyle?: boolean | undefined;
  /** Per-request timeout (ms); undefined = none beyond the job deadline. */
  requestTimeoutMs?: number | undefined;
  /**
   * Which store this is, selecting a preset of what it does (shared/s3/store-profile.ts): `aws`,
   * `ceph`, `s3rver`, `other`. Undefined: nothing is assumed (DOCUMENTED_S3).
   */
  provider?: ProviderName | undefined;
  /** Refuse metadata rewrites (and copies with an expected ETag) unless the store is known to honour copy conditions. */
  requireGuard?: boolean | undefined;
}

export interface WorkerSettings {
  /** Jobs run at once by one worker process. */
  concurrency: number;
  /** Max jobs started per second across all workers of the queue (BullMQ limiter); undefined = none. */
  rateLimitPerSecond: number | undefined;
  /** Default per-job deadline (ms); a job may override it, null disables it. */
  jobTimeoutMs: number;
  /** Copies whose source is larger run without the job deadline. */
  largeTransferBytes: number;
  /** Inactivity guard of each request, kept for large transfers. */
  stallTimeoutMs: number;
  shutdownGraceMs: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Copies of sources larger than this use multipart copy (≤ 5 GiB, the CopyObject limit). */
  multipartThresholdBytes: number;
  multipartPartBytes: number;
  multipartConcurrency: number;
  /** Part size of copies streamed between two stores (objects up to it go in one PUT). */
  streamPartBytes: number;
  /** Parts in flight per streamed copy: its memory is streamPartBytes × this. */
  streamConcurrency: number;
  /** Port of /metrics, /healthz, /readyz; undefined = off. */
  metricsPort: number | undefined;
  /** How long start-up waits for Redis before the worker exits (exit code 3). */
  redisStartupTimeoutMs: number;
  /** Store-down failures in a row (refused, reset, timeout, 503) that open an endpoint's circuit breaker. */
  breakerFailures: number;
  /** Longest interval between the open breaker's probes (they start at 1 s and double). */
  breakerMaxProbeMs: number;
}

export interface ProducerSettings {
  /** How long a migration's listing retries while S3 fails transiently, from an outage's first failure. */
  s3RetryBudgetMs: number;
}

export interface RetrySettings {
  /** Attempts per job in all (1 = no retry). */
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface S3JobsConfig {
  /** `redis://` / `rediss://`, or `redis+cluster://host:port,host:port` (`rediss+cluster://`) for a Redis Cluster. */
  redisUrl: string;
  queue: string;
  /** BullMQ key prefix; `{…}` makes it a Redis Cluster hash tag (required with a cluster `redisUrl`). */
  prefix: string;
  profiles: Record<string, ConnectionProfile>;
  worker: WorkerSettings;
  producer: ProducerSettings;
  retry: RetrySettings;
  retention: { completedCount: number; completedAgeSeconds: number };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** A deep-partial of the config, as a file or CLI flags give it. */
export type ConfigOverrides = {
  redisUrl?: string | undefined;
  queue?: string | undefined;
  prefix?: string | undefined;
  profiles?: Record<string, Partial<ConnectionProfile>> | undefined;
  worker?: Partial<WorkerSettings> | undefined;
  producer?: Partial<ProducerSettings> | undefined;
  retry?: Partial<RetrySettings> | undefined;
  retention?: Partial<S3JobsConfig['retention']> | undefined;
  logLevel?: S3JobsConfig['logLevel'] | undefined;
};

export const DEFAULT_CONFIG: S3JobsConfig = {
  redisUrl: 'redis://127.0.0.1:6379',
  queue: 's3jobs',
  prefix: '{s3jobs}',
  profiles: {},
  worker: {
    concurrency: 16,
    rateLimitPerSecond: undefined,
    jobTimeoutMs: 30_000,
    largeTransferBytes: 1024 ** 3,
    stallTimeoutMs: 300_000,
    shutdownGraceMs: 25_000,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    multipartThresholdBytes: 5 * 1024 ** 3,
    multipartPartBytes: 256 * 1024 ** 2,
    multipartConcurrency: 8,
    streamPartBytes: 16 * 1024 ** 2,
    streamConcurrency: 4,
    metricsPort: undefined,
    redisStartupTimeoutMs: 60_000,
    breakerFailures: 5,
    breakerMaxProbeMs: 30_000,
  },
  producer: { s3RetryBudgetMs: 300_000 },
  retry: { attempts: 5, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
  retention: { completedCount: 10_000, completedAgeSeconds: 86_400 },
  logLevel: 'info',
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

const positiveInt = z.number().int().positive();
const profileSchema = z.strictObject({
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  region: z.string().regex(/^[a-z0-9-]{1,64}$/).default('us-east-1'),
  accessKey: z.string().min(1),
  secretKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
  forcePathStyle: z.boolean().optional(),
  requestTimeoutMs: positiveInt.optional(),
  provider: z.enum(PROVIDER_NAMES as [ProviderName, ...ProviderName[]], { error: `must be one of ${PROVIDER_NAMES.join(', ')}` }).optional(),
  requireGuard: z.boolean().optional(),
});

const configSchema = z.strictObject({
  redisUrl: z.string().regex(/^rediss?(\+cluster)?:\/\//, 'must be a redis:// or rediss:// URL, or redis+cluster://host:port,host:port (rediss+cluster:// for TLS) for a Redis Cluster'),
  queue: z.string().regex(NAME, 'must be 1-64 letters, digits, "_" or "-"'),
  prefix: z.string().min(1).max(64).regex(/^[^:\s]+$/, 'must not contain ":" or spaces'),
  profiles: z.record(z.string().regex(NAME, 'profile names are 1-64 letters, digits, "_" or "-"'), profileSchema),
  worker: z.strictObject({
    concurrency: positiveInt.max(1024),
    rateLimitPerSecond: positiveInt.optional(),
    jobTimeoutMs: positiveInt,
    largeTransferBytes: positiveInt,
    stallTimeoutMs: positiveInt,
    shutdownGraceMs: z.number().int().nonnegative(),
    lockDurationMs: positiveInt.min(1000),
    stalledIntervalMs: positiveInt.min(500),
    multipartThresholdBytes: positiveInt.max(5 * 1024 ** 3),
    multipartPartBytes: positiveInt.min(5 * 1024 ** 2).max(5 * 1024 ** 3),
    multipartConcurrency: positiveInt.max(64),
    streamPartBytes: positiveInt.min(5 * 1024 ** 2).max(5 * 1024 ** 3),
    streamConcurrency: positiveInt.max(64),
    metricsPort: z.number().int().min(0).max(65535).optional(),
    redisStartupTimeoutMs: positiveInt,
    breakerFailures: positiveInt.max(10_000),
    breakerMaxProbeMs: positiveInt.min(1_000),
  }),
  producer: z.strictObject({ s3RetryBudgetMs: z.number().int().nonnegative() }),
  retry: z.strictObject({ attempts: positiveInt.max(100), backoffBaseMs: positiveInt, backoffMaxMs: positiveInt }),
  retention: z.strictObject({ completedCount: z.number().int().nonnegative(), completedAgeSeconds: positiveInt }),
  logLevel: z.enum(LOG_LEVELS),
});

type Env = Record<string, string | undefined>;

function intFrom(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim().replace(/_/g, ''));
  if (!Number.isInteger(value)) throw new ValidationError(name, `"${raw}" is not an integer`, ErrorCodes.InvalidConfig);
  return value;
}

function boolFrom(env: Env, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ValidationError(name, `"${env[name]}" is not a boolean (true/false)`, ErrorCodes.InvalidConfig);
}

function strFrom(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/** A provider name, checked here so the error names the variable and lists the allowed names. */
function providerFrom(env: Env, name: string): ProviderName | undefined {
  const raw = strFrom(env, name);
  if (raw === undefined) return undefined;
  providerProfile(raw, name);
  return raw.toLowerCase() as ProviderName;
}

/** Profiles from `S3JOBS_PROFILE_<NAME>_*` (NAME lower-cased, `_` kept) and the AWS_* "default". */
function profilesFromEnv(env: Env): Record<string, Partial<ConnectionProfile>> {
  const names = new Set<string>();
  for (const name of (env.S3JOBS_PROFILES ?? '').split(',')) if (name.trim() !== '') names.add(name.trim().toUpperCase().replace(/-/g, '_'));
  for (const key of Object.keys(env)) {
    const m = /^S3JOBS_PROFILE_([A-Z0-9_]+?)_(ENDPOINT|REGION|ACCESS_KEY|SECRET_KEY|SESSION_TOKEN|FORCE_PATH_STYLE|REQUEST_TIMEOUT_MS|PROVIDER|REQUIRE_GUARD)$/.exec(key);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  const profiles: Record<string, Partial<ConnectionProfile>> = {};
  for (const upper of names) {
    const p = `S3JOBS_PROFILE_${upper}_`;
    profiles[upper.toLowerCase()] = dropUndefined({
      endpoint: strFrom(env, `${p}ENDPOINT`),
      region: strFrom(env, `${p}REGION`),
      accessKey: strFrom(env, `${p}ACCESS_KEY`),
      secretKey: env[`${p}SECRET_KEY`],
      sessionToken: strFrom(env, `${p}SESSION_TOKEN`),
      forcePathStyle: boolFrom(env, `${p}FORCE_PATH_STYLE`),
      requestTimeoutMs: intFrom(env, `${p}REQUEST_TIMEOUT_MS`),
      provider: providerFrom(env, `${p}PROVIDER`),
      requireGuard: boolFrom(env, `${p}REQUIRE_GUARD`),
    });
  }
  if (profiles.default === undefined && env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined) {
    profiles.default = dropUndefined({
      endpoint: strFrom(env, 'S3_ENDPOINT'),
      region: strFrom(env, 'AWS_REGION') ?? strFrom(env, 'AWS_DEFAULT_REGION'),
      accessKey: env.AWS_ACCESS_KEY_ID,
      secretKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: strFrom(env, 'AWS_SESSION_TOKEN'),
    });
  }
  return profiles;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Everything the environment says, as overrides. */
export function overridesFromEnv(env: Env): ConfigOverrides {
  const rate = intFrom(env, 'S3JOBS_RATE_LIMIT');
  const metricsPort = intFrom(env, 'S3JOBS_METRICS_PORT');
  const level = strFrom(env, 'S3JOBS_LOG_LEVEL');
  return dropUndefined({
    redisUrl: strFrom(env, 'S3JOBS_REDIS_URL') ?? strFrom(env, 'REDIS_URL'),
    queue: strFrom(env, 'S3JOBS_QUEUE'),
    prefix: strFrom(env, 'S3JOBS_PREFIX'),
    profiles: profilesFromEnv(env),
    worker: dropUndefined({
      concurrency: intFrom(env, 'S3JOBS_CONCURRENCY'),
      rateLimitPerSecond: rate,
      jobTimeoutMs: intFrom(env, 'S3JOBS_JOB_TIMEOUT_MS'),
      largeTransferBytes: intFrom(env, 'S3JOBS_LARGE_TRANSFER_BYTES'),
      stallTimeoutMs: intFrom(env, 'S3JOBS_STALL_TIMEOUT_MS'),
      shutdownGraceMs: intFrom(env, 'S3JOBS_SHUTDOWN_GRACE_MS'),
      lockDurationMs: intFrom(env, 'S3JOBS_LOCK_DURATION_MS'),
      stalledIntervalMs: intFrom(env, 'S3JOBS_STALLED_INTERVAL_MS'),
      multipartThresholdBytes: intFrom(env, 'S3JOBS_MULTIPART_THRESHOLD_BYTES'),
      multipartPartBytes: intFrom(env, 'S3JOBS_MULTIPART_PART_BYTES'),
      multipartConcurrency: intFrom(env, 'S3JOBS_MULTIPART_CONCURRENCY'),
      streamPartBytes: intFrom(env, 'S3JOBS_STREAM_PART_BYTES'),
      streamConcurrency: intFrom(env, 'S3JOBS_STREAM_CONCURRENCY'),
      metricsPort,
      redisStartupTimeoutMs: intFrom(env, 'S3JOBS_REDIS_STARTUP_TIMEOUT_MS'),
      breakerFailures: intFrom(env, 'S3JOBS_BREAKER_FAILURES'),
      breakerMaxProbeMs: intFrom(env, 'S3JOBS_BREAKER_MAX_PROBE_MS'),
    }),
    producer: dropUndefined({ s3RetryBudgetMs: intFrom(env, 'S3JOBS_S3_RETRY_BUDGET_MS') }),
    retry: dropUndefined({ attempts: intFrom(env, 'S3JOBS_ATTEMPTS'), backoffBaseMs: intFrom(env, 'S3JOBS_BACKOFF_MS'), backoffMaxMs: intFrom(env, 'S3JOBS_BACKOFF_MAX_MS') }),
    retention: dropUndefined({ completedCount: intFrom(env, 'S3JOBS_KEEP_COMPLETED'), completedAgeSeconds: intFrom(env, 'S3JOBS_KEEP_COMPLETED_SECONDS') }),
    logLevel: level as S3JobsConfig['logLevel'] | undefined,
  }) as ConfigOverrides;
}

function merge(base: S3JobsConfig, over: ConfigOverrides): S3JobsConfig {
  const profiles: Record<string, Partial<ConnectionProfile>> = { ...base.profiles };
  for (const [name, p] of Object.entries(over.profiles ?? {})) profiles[name] = { ...profiles[name], ...p };
  return {
    ...base,
    ...dropUndefined({ redisUrl: over.redisUrl, queue: over.queue, prefix: over.prefix, logLevel: over.logLevel }),
    profiles: profiles as Record<string, ConnectionProfile>,
    worker: { ...base.worker, ...dropUndefined(over.worker ?? {}) },
    producer: { ...base.producer, ...dropUndefined(over.producer ?? {}) },
    retry: { ...base.retry, ...dropUndefined(over.retry ?? {}) },
    retention: { ...base.retention, ...dropUndefined(over.retention ?? {}) },
  };
}

/**
 * Builds the effective configuration from layers (pure: no I/O). Throws a ValidationError with code
 * `S3JOBS_INVALID_CONFIG` naming the setting (e.g. `worker.concurrency` or `profiles.prod.secretKey`).
 */
export function buildConfig(layers: { file?: unknown; env?: Env; overrides?: ConfigOverrides } = {}): S3JobsConfig {
  let config = DEFAULT_CONFIG;
  if (layers.file !== undefined) {
    if (layers.file === null || typeof layers.file !== 'object' || Array.isArray(layers.file))
      throw new ValidationError('S3JOBS_CONFIG', 'the config file must hold a JSON object', ErrorCodes.InvalidConfig);
    assertKnownKeys(layers.file as Record<string, unknown>);
    config = merge(config, layers.file as ConfigOverrides);
  }
  if (layers.env !== undefined) config = merge(config, overridesFromEnv(layers.env));
  if (layers.overrides !== undefined) config = merge(config, layers.overrides);
  const result = configSchema.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.map(String).join('.') || 'config';
    throw new ValidationError(field, issue.message, ErrorCodes.InvalidConfig);
  }
  const parsed = result.data as S3JobsConfig;
  // A cluster URL is parsed here so a bad seed list fails at the edge, and the prefix must keep each
  // queue on one slot (BullMQ's scripts and our dead-letter moves are multi-key).
  if (parseRedisUrl(parsed.redisUrl).mode === 'cluster') assertClusterPrefix(parsed.prefix);
  if (parsed.retry.backoffMaxMs < parsed.retry.backoffBaseMs)
    throw new ValidationError('retry.backoffMaxMs', `(${parsed.retry.backoffMaxMs}) must be at least retry.backoffBaseMs (${parsed.retry.backoffBaseMs})`, ErrorCodes.InvalidConfig);
  return parsed;
}

/** A typo in a config file (`worker.concurency`) must be an error, not a silently ignored setting. */
function assertKnownKeys(file: Record<string, unknown>): void {
  const sections = DEFAULT_CONFIG as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(file)) {
    if (!Object.hasOwn(sections, key)) throw new ValidationError(key, `is not a setting; known: ${Object.keys(sections).join(', ')}`, ErrorCodes.InvalidConfig);
    const section = sections[key];
    if (key === 'profiles' || section === null || typeof section !== 'object' || value === null || typeof value !== 'object') continue;
    for (const inner of Object.keys(value))
      if (!Object.hasOwn(section, inner)) throw new ValidationError(`${key}.${inner}`, `is not a setting; known: ${Object.keys(section).join(', ')}`, ErrorCodes.InvalidConfig);
  }
}

/** The edge: reads `S3JOBS_CONFIG` (if set) and the environment, applies CLI overrides. */
export function loadConfig(env: Env = process.env, overrides?: ConfigOverrides): S3JobsConfig {
  const path = strFrom(env, 'S3JOBS_CONFIG');
  let file: unknown;
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new S3JobsError(ErrorCodes.InvalidConfig, `S3JOBS_CONFIG: cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      file = JSON.parse(text);
    } catch (err) {
      throw new S3JobsError(ErrorCodes.InvalidConfig, `S3JOBS_CONFIG: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  return buildConfig({ file, env, overrides });
}

/** A copy safe to print or log: secret keys and session tokens masked, Redis passwords hidden. */
export function maskConfig(config: S3JobsConfig): S3JobsConfig {
  const profiles: Record<string, ConnectionProfile> = {};
  for (const [name, p] of Object.entries(config.profiles)) {
    profiles[name] = { ...p, secretKey: mask(p.secretKey), ...(p.sessionToken === undefined ? {} : { sessionToken: mask(p.sessionToken) }) };
  }
  return { ...config, redisUrl: redactUrl(config.redisUrl), profiles };
}

function mask(secret: string): string {
  return secret.length === 0 ? '' : '****';
}

/** `redis://user:pass@host` → `redis://user:****@host`. */
export function redactUrl(url: string): string {
  if (isClusterUrl(url)) return redactClusterUrl(url);
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//****@');
  }
}

/**
 * What a bucket client takes from a connection profile: credentials, endpoint, region, addressing
 * (every client of a profile — a worker's, a producer's listing, a report upload — is built from this).
 * Pure.
 */
export function connectionOf(profile: ConnectionProfile, bucket: string) {
  return {
    name: bucket,
    accessKey: profile.accessKey,
    secretKey: profile.secretKey,
    sessionToken: profile.sessionToken,
    endpoint: profile.endpoint,
    region: profile.region,
    forcePathStyle: profile.forcePathStyle,
  };
}

/** The profile a job names, or an S3JobsError `S3JOBS_UNKNOWN_PROFILE` listing the known ones. */
export function resolveProfile(config: S3JobsConfig, name: string): ConnectionProfile {
  const profile = config.profiles[name];
  if (profile === undefined) {
    const known = Object.keys(config.profiles);
    throw new S3JobsError(
      ErrorCodes.UnknownProfile,
      `profile "${name}" is not configured on this worker; known profiles: ${known.length === 0 ? '(none: set S3JOBS_PROFILE_<NAME>_* or AWS_* variables)' : known.join(', ')}`,
    );
  }
  return profile;
}
