/**
 * `s3jobs doctor --bucket B [--profile NAME]`: a conformance probe of the user's store. Writes
 * only under a scratch prefix it removes again, prints what the store does and what s3jobs does
 * about it, and keeps the findings per endpoint in Redis for the workers.
 */
import { resolveProfile, type S3JobsConfig } from '../../shared/config/config.js';
import { S3JobsError } from '../../shared/errors.js';
import { findingsFromObservations, storeEndpointId, storeFindingsKey, storeProfileFromObservations, type StoredFindings } from '../../shared/s3/store-findings.js';
import { brokenGuarantees, judgeStore } from '../../shared/s3/store-probe.js';
import { DOCUMENTED_S3, providerProfile } from '../../shared/s3/store-profile.js';
import { assertBucketName } from '../../shared/s3/validation.js';
import { runProbes } from '../doctor/probes.js';
import { formatReport, reportJson, type DoctorReport } from '../doctor/report.js';
import { booleanFlag, GLOBAL_OPTIONS, globalsFrom, parseCommandLine, parseInteger, stringFlag, type GlobalOptions, type Parsed } from './args.js';
import { closeRedis, connectRedis, loadCliConfig, printJson, type CliCommand } from './context.js';
import type { RedisConnection } from '../../shared/queue/connection.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';
import type { CliIo } from './io.js';

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  profile: { type: 'string' },
  bucket: { type: 'string' },
  'scratch-prefix': { type: 'string' },
  save: { type: 'boolean' },
  'no-save': { type: 'boolean' },
  'no-bucket-create': { type: 'boolean' },
  'timeout-ms': { type: 'string' },
} as const;

export interface DoctorArgs {
  globals: GlobalOptions;
  profile: string;
  bucket: string;
  scratchPrefix: string;
  /** `true`: save or fail (exit 3 without Redis); `false`: never; `'if-redis'`: when Redis answers. */
  save: boolean | 'if-redis';
  bucketCreate: boolean;
  timeoutMs: number;
}

/** Exit code of an interrupted run (128 + SIGINT), as shells report Ctrl-C. */
export const INTERRUPTED_EXIT = 130;

/** Pure: the command line into what to run; UsageError naming the flag otherwise. */
export function parseDoctorArgs(argv: readonly string[]): Parsed<DoctorArgs> {
  const { values } = parseCommandLine('doctor', argv, OPTIONS, { names: [] });
  if (values.help === true) return { help: true };
  const bucket = stringFlag(values, 'bucket');
  if (bucket === undefined) throw new UsageError('--bucket', "is required: the bucket to probe (doctor writes only under a scratch prefix there and removes it) (see 's3jobs doctor --help')");
  try {
    assertBucketName(bucket);
  } catch (err) {
    throw new UsageError('--bucket', err instanceof Error ? err.message.replace(/^[^:]*: /, '') : String(err));
  }
  const scratchPrefix = stringFlag(values, 'scratch-prefix') ?? '';
  if (scratchPrefix !== '' && (!scratchPrefix.endsWith('/') || scratchPrefix.startsWith('/') || scratchPrefix.length > 512))
    throw new UsageError('--scratch-prefix', `${JSON.stringify(scratchPrefix)} is not allowed; give a key prefix ending in "/" (not starting with one), at most 512 characters, e.g. "tmp/"`);
  if (booleanFlag(values, 'save') && booleanFlag(values, 'no-save')) throw new UsageError('--save', 'and --no-save contradict each other; give one');
  const save = booleanFlag(values, 'save') ? true : booleanFlag(values, 'no-save') ? false : 'if-redis';
  const timeoutMs = parseInteger(stringFlag(values, 'timeout-ms'), '--timeout-ms', 1_000, 600_000) ?? 30_000;
  return { help: false, globals: globalsFrom(values), profile: stringFlag(values, 'profile') ?? 'default', bucket, scratchPrefix, save, bucketCreate: !booleanFlag(values, 'no-bucket-create'), timeoutMs };
}

const HELP = commandHelp({
  usage: 's3jobs doctor --bucket BUCKET [--profile NAME] [--json] [--save | --no-save] [--scratch-prefix P] [--no-bucket-create]',
  summary: `Probes the store behind a connection profile and says, probe by probe, what the store does
and what s3jobs does about it: SigV4 header auth (and that a wrong secret is refused), presigned
GET and PUT, keys with spaces, "+", "%" and unicode, copies with REPLACE (which headers survive)
and s3jobs' metadata rewrite, each copy condition under its standard name
(x-amz-copy-source-if-*) and its older one (x-amz-copy-if-*), ETag forms, multipart copy and
what CompleteMultipartUpload answers, CreateBucket of a bucket you own (on a scratch bucket it
creates and deletes; "not checked" if the credentials may not create buckets), object ACLs,
versioning, tagging, and clock skew against the store's Date.

It writes only under <scratch-prefix>.s3jobs-doctor/<random>/ in BUCKET and removes that
afterwards, also after an error or Ctrl-C. The findings (which condition names guard a copy,
whether CompleteMultipartUpload may answer an empty ETag, what CreateBucket answers) are saved in
Redis per endpoint (<prefix>:store:<endpoint>): by default when Redis answers, always with
--save (exit 3 without Redis), never with --no-save. Workers read them at start and every
5 minutes, over the profile's preset (S3JOBS_PROFILE_<NAME>_PROVIDER).

Exits 0 when every s3jobs guarantee holds on the store, 1 naming the ones that do not (e.g.
"guarded rewrite not guarded on this store"), 130 when interrupted.`,
  examples: ['s3jobs doctor --bucket my-bucket', 's3jobs doctor --profile ceph --bucket media --json | jq .broken', 's3jobs doctor --bucket b --scratch-prefix tmp/ --no-save'],
  flags: `Doctor flags:
  --bucket BUCKET       the bucket to probe (required); only a scratch prefix in it is written
  --profile NAME        connection profile (endpoint, region, credentials). Default "default"
  --save                save the findings in Redis, or fail with exit 3 when it does not answer
  --no-save             do not touch Redis
  --scratch-prefix P    write under P.s3jobs-doctor/<random>/ (P ends in "/"), for credentials
                        limited to a prefix. Default: the bucket's root
  --no-bucket-create    skip the CreateBucket probe (it creates and deletes a scratch bucket)
  --timeout-ms N        per-request timeout, 1000..600000. Default 30000`,
});

/** The StoreProfile a connection profile starts from: its provider's preset, else the documented default. */
function presetOf(connection: { provider?: string | undefined }): ReturnType<typeof providerProfile> {
  return connection.provider === undefined ? DOCUMENTED_S3 : providerProfile(connection.provider);
}

async function saveFindings(redis: RedisConnection, key: string, record: StoredFindings): Promise<void> {
  await redis.set(key, JSON.stringify(record));
}

/** Runs the probes and builds the report; saving and printing are the caller's. Exported for tests. */
export async function runDoctor(args: DoctorArgs, config: S3JobsConfig, signal?: AbortSignal): Promise<DoctorReport> {
  let connection;
  try {
    connection = resolveProfile(config, args.profile);
  } catch (err) {
    throw new UsageError('--profile', err instanceof Error ? err.message : String(err));
  }
  const endpoint = storeEndpointId(connection);
  const run = await runProbes({
    bucket: { name: args.bucket, accessKey: connection.accessKey, secretKey: connection.secretKey, sessionToken: connection.sessionToken, endpoint: connection.endpoint, region: connection.region, forcePathStyle: connection.forcePathStyle },
    endpoint,
    scratchPrefix: args.scratchPrefix,
    timeoutMs: args.timeoutMs,
    signal,
    skipBucketCreate: !args.bucketCreate,
    baseProfile: presetOf(connection),
  });
  const obs = run.observations;
  // A bucket that is not there is a usage error, not a finding about the store.
  if (obs.sigv4.state === 'observed' && !obs.sigv4.value.ok && /NoSuchBucket/.test(obs.sigv4.value.detail ?? ''))
    throw new UsageError('--bucket', `there is no bucket "${args.bucket}" at ${endpoint} (profile "${args.profile}"); create it (s3jobs bucket create) or name another`);
  const storeProfile = storeProfileFromObservations(obs, presetOf(connection));
  const results = judgeStore(obs, storeProfile);
  return {
    endpoint,
    bucket: args.bucket,
    profileName: args.profile,
    at: obs.at,
    results,
    broken: brokenGuarantees(results),
    storeProfile,
    findings: findingsFromObservations(obs),
    scratch: run.scratch,
    saved: { saved: false, reason: 'not asked to' },
    interrupted: signal?.aborted === true,
  };
}

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'probe a store: what it does where stores differ, and whether s3jobs guarantees hold there',
  help: HELP,
  async run(argv, io: CliIo) {
    const parsed = parseDoctorArgs(argv);
    if (parsed.help) {
      io.stdout(HELP);
      return ExitCode.Ok;
    }
    const config = loadCliConfig(parsed.globals, io);
    // --save needs Redis: find out before minutes of probing (exit 3 now). Otherwise Redis is only
    // tried at the end, and its absence is said, not fatal.
    let redis: RedisConnection | undefined = parsed.save === true ? await connectRedis(config.redisUrl) : undefined;
    try {
      return await runAndReport(parsed, config, io, redis, (r) => (redis = r));
    } finally {
      if (redis !== undefined) closeRedis(redis);
    }
  },
};

/** Probes, saves (through `connected`, or a connection it opens and hands to `keep`), prints. */
async function runAndReport(parsed: DoctorArgs, config: S3JobsConfig, io: CliIo, connected: RedisConnection | undefined, keep: (redis: RedisConnection) => void): Promise<number> {
  // Ctrl-C stops the probes; the scratch prefix is still removed before the command returns.
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let report: DoctorReport;
  try {
    report = await runDoctor(parsed, config, controller.signal);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  const key = storeFindingsKey(config.prefix, report.endpoint);
  if (report.interrupted) report.saved = { saved: false, reason: 'the run was interrupted' };
  else if (parsed.save === false) report.saved = { saved: false, reason: '--no-save' };
  else {
    const record: StoredFindings = { version: 1, endpoint: report.endpoint, bucket: report.bucket, at: report.at, findings: report.findings, failed: report.results.filter((r) => r.verdict === 'fail').map((r) => r.id) };
    try {
      let redis = connected;
      if (redis === undefined) keep((redis = await connectRedis(config.redisUrl)));
      await saveFindings(redis, key, record);
      report.saved = { saved: true, key };
    } catch (err) {
      if (parsed.save === true) throw err; // --save: Redis is required (exit 3)
      report.saved = { saved: false, reason: `Redis did not answer (${err instanceof S3JobsError ? err.message : String(err)}); give --save to require it` };
    }
  }
  if (parsed.globals.json) printJson(io, reportJson(report));
  else io.stdout(formatReport(report));
  if (report.interrupted) return INTERRUPTED_EXIT;
  if (report.broken.length > 0) {
    io.stderr(`s3jobs doctor: ${report.broken.length === 1 ? 'a guarantee does' : `${report.broken.length} guarantees do`} not hold on ${report.endpoint}: ${report.broken.join('; ')}\n`);
    return ExitCode.Failed;
  }
  return ExitCode.Ok;
}

