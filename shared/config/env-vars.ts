/**
 * Every environment variable s3jobs reads, in one table: the config parser, `s3jobs config check`,
 * the README and the docker-compose consistency test all use this list.
 */
export const ENV_VARS = {
  S3JOBS_CONFIG: 'Path of an optional JSON config file (same shape as the effective config; env wins over it).',
  REDIS_URL:
    'Redis URL, e.g. redis://127.0.0.1:6379 (rediss:// for TLS); for a Redis Cluster, redis+cluster://host1:port1,host2:port2 (seed nodes; rediss+cluster:// for TLS; user:password@ before the hosts). S3JOBS_REDIS_URL wins over it.',
  S3JOBS_REDIS_URL: 'Redis URL for s3jobs only (overrides REDIS_URL).',
  S3JOBS_QUEUE: 'Queue name. Default "s3jobs". The dead-letter queue is "<queue>-dead".',
  S3JOBS_PREFIX: 'BullMQ key prefix. Default "{s3jobs}": the braces are a Redis Cluster hash tag keeping a queue on one slot (required with a cluster URL).',
  S3JOBS_CONCURRENCY: 'Jobs one worker process runs at once. Default 16.',
  S3JOBS_RATE_LIMIT: 'Max jobs per second per queue across all workers (BullMQ limiter). Default: none.',
  S3JOBS_JOB_TIMEOUT_MS: 'Default per-job deadline in ms (a job may override it). Default 30000.',
  S3JOBS_LARGE_TRANSFER_BYTES: 'Copies of sources larger than this run without the job deadline. Default 1073741824 (1 GiB).',
  S3JOBS_STALL_TIMEOUT_MS: 'Per-request inactivity guard (no headers / no body progress) that stays on for large transfers. Default 300000.',
  S3JOBS_ATTEMPTS: 'Attempts per job before it is dead-lettered (retryable failures only). Default 5.',
  S3JOBS_BACKOFF_MS: 'Base of the exponential retry backoff (with full jitter), ms. Default 1000.',
  S3JOBS_BACKOFF_MAX_MS: 'Cap of the retry backoff, ms. Default 60000.',
  S3JOBS_SHUTDOWN_GRACE_MS: 'On SIGTERM/SIGINT, how long running jobs may finish before being aborted and requeued. Default 25000.',
  S3JOBS_LOCK_DURATION_MS: 'BullMQ job lock; a worker that stops renewing it (crash) loses the job to another after this. Default 30000.',
  S3JOBS_STALLED_INTERVAL_MS: 'How often workers look for jobs whose lock expired (crashed workers). Default 30000.',
  S3JOBS_MULTIPART_THRESHOLD_BYTES: 'Copies of sources larger than this use multipart copy (parts in parallel). Default and maximum 5368709120 (5 GiB, the CopyObject limit).',
  S3JOBS_MULTIPART_PART_BYTES: 'Part size of multipart copies. Default 268435456 (256 MiB).',
  S3JOBS_MULTIPART_CONCURRENCY: 'Parts copied in parallel per multipart copy. Default 8.',
  S3JOBS_STREAM_PART_BYTES: 'Part size of copies streamed between two stores (objects up to it go in one PUT). Default 16777216 (16 MiB).',
  S3JOBS_STREAM_CONCURRENCY: 'Parts in flight per copy streamed between two stores; its memory is part size × this. Default 4.',
  S3JOBS_KEEP_COMPLETED: 'Completed jobs kept for status/result look-ups (count). Default 10000.',
  S3JOBS_KEEP_COMPLETED_SECONDS: 'Completed jobs kept at most this long. Default 86400.',
  S3JOBS_LOG_LEVEL: 'pino log level: fatal, error, warn, info, debug, trace, silent. Default info.',
  S3JOBS_METRICS_PORT: 'Port of the worker metrics/health HTTP server (/metrics, /healthz, /readyz). Default: off.',
  S3JOBS_REDIS_STARTUP_TIMEOUT_MS: 'How long a starting worker waits for Redis before it exits with code 3 (Redis unreachable), ms. Default 60000.',
  S3JOBS_BREAKER_FAILURES: "Store-down failures in a row (connection refused/reset, timeouts, 502/503/504) that open a worker's circuit breaker for that S3 endpoint without waiting for the probe the first one sends (a probe that gets no answer opens it at once): its jobs are then put back without using an attempt until a probe gets an answer. Default 5.",
  S3JOBS_BREAKER_MAX_PROBE_MS: 'Longest interval between probes of an endpoint whose breaker is open (probes start 1 s apart and double), ms. Default 30000.',
  S3JOBS_S3_RETRY_BUDGET_MS: "How long `migrate-metadata`'s listing retries while S3 is unavailable (refused, reset, timeouts, 5xx, SlowDown) before it stops, resumable, with exit code 5, ms. Default 300000 (5 min); --s3-retry-budget overrides it.",
  S3JOBS_DASHBOARD_USER: 'Basic-auth user of `s3jobs dashboard` (with S3JOBS_DASHBOARD_PASSWORD). Auth is required to listen beyond localhost.',
  S3JOBS_DASHBOARD_PASSWORD: 'Basic-auth password of `s3jobs dashboard` (never logged).',
  S3JOBS_DASHBOARD_TOKEN: 'Bearer token of `s3jobs dashboard` (`Authorization: Bearer …`; also accepted as the basic-auth password). Never logged.',
  S3JOBS_PROFILES: 'Comma-separated profile names to read from S3JOBS_PROFILE_<NAME>_* variables (optional; names are also discovered).',
  'S3JOBS_PROFILE_<NAME>_ENDPOINT': 'Service endpoint of profile NAME (omit for AWS).',
  'S3JOBS_PROFILE_<NAME>_REGION': 'Signing region of profile NAME. Default us-east-1.',
  'S3JOBS_PROFILE_<NAME>_ACCESS_KEY': 'Access key id of profile NAME.',
  'S3JOBS_PROFILE_<NAME>_SECRET_KEY': 'Secret key of profile NAME (never logged).',
  'S3JOBS_PROFILE_<NAME>_SESSION_TOKEN': 'Session token of profile NAME (temporary credentials).',
  'S3JOBS_PROFILE_<NAME>_FORCE_PATH_STYLE': 'true/false: path-style addressing for profile NAME.',
  'S3JOBS_PROFILE_<NAME>_REQUEST_TIMEOUT_MS': 'Per-request timeout of profile NAME, ms. Default none (the job deadline bounds requests).',
  'S3JOBS_PROFILE_<NAME>_PROVIDER':
    'Which store profile NAME talks to: aws, ceph, s3rver or other. Selects what s3jobs assumes where stores differ (copy-condition header names, CreateBucket answers, multipart completion). Default: nothing assumed (both condition names sent, guard reported unverified).',
  'S3JOBS_PROFILE_<NAME>_REQUIRE_GUARD': "true/false: refuse metadata rewrites (dead-lettered S3JOBS_UNGUARDED) unless profile NAME's store is known to honour copy conditions. Default false.",
  AWS_ACCESS_KEY_ID: 'With AWS_SECRET_ACCESS_KEY: defines profile "default" when no S3JOBS_PROFILE_DEFAULT_* is set.',
  AWS_SECRET_ACCESS_KEY: 'See AWS_ACCESS_KEY_ID.',
  AWS_SESSION_TOKEN: 'Session token of the "default" profile built from AWS_* variables.',
  AWS_REGION: 'Region of the "default" profile built from AWS_* variables (AWS_DEFAULT_REGION also read).',
  AWS_DEFAULT_REGION: 'See AWS_REGION.',
  S3_ENDPOINT: 'Endpoint of the "default" profile built from AWS_* variables (for S3-compatible stores).',
} as const;

export type EnvVarName = keyof typeof ENV_VARS;

/** True when `name` is read by s3jobs (profile variables match their pattern). */
export function isKnownEnvVar(name: string): boolean {
  if (Object.hasOwn(ENV_VARS, name)) return true;
  return /^S3JOBS_PROFILE_[A-Z0-9_]+_(ENDPOINT|REGION|ACCESS_KEY|SECRET_KEY|SESSION_TOKEN|FORCE_PATH_STYLE|REQUEST_TIMEOUT_MS|PROVIDER|REQUIRE_GUARD)$/.test(name);
}
