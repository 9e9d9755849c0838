/**
 * `s3jobs migrate-metadata --bucket B [--prefix P] --acl ACL [--set k=v ...] [...]`: a bulk metadata
 * migration as a named, resumable run (producers/migrate/migration.ts does the work), with live
 * progress on stderr and a summary on stdout.
 */
import { connectionOf, resolveProfile, type S3JobsConfig } from '../../shared/config/config.js';
import { ValidationError } from '../../shared/errors.js';
import { RunStore, type RunInfo } from '../../shared/runs/index.js';
import { MAX_BATCH_OBJECTS } from '../../shared/jobs/index.js';
import { S3Bucket, type CannedAcl, type CopyAcl, type StorageClass } from '../../shared/s3/index.js';
import { CANNED_ACLS } from '../../shared/s3/validation.js';
import { globToRegExp, type KeyFilterOptions } from '../migrate/key-filter.js';
import { S3UnavailableError } from '../migrate/listing-retry.js';
import { parseDuration } from '../schedule/duration.js';
import { ManifestSource, parseManifestLocation, type ManifestLocation } from '../migrate/manifest-source.js';
import { parseTagFlags } from './tag.js';
import { deliverBatchOpsReport, reportTargetText, storedReportTarget, type DeliveredReport, type ReportTarget } from '../migrate/deliver-report.js';
import { DEFAULT_WINDOW, MIGRATION_KIND, operationJobFor, rewriteJobFor, runMigration, RunNotFoundError, type MigrationOptions, type MigrationResult, type MigrationSpec, type RunOperation } from '../migrate/migration.js';
import { formatCount, ProgressDisplay, summaryTable } from '../migrate/progress.js';
import { describeChanges, describeSelection, resumeHint, RUN_COMMANDS } from '../migrate/describe-spec.js';
import {
  booleanFlag,
  GLOBAL_OPTIONS,
  listFlag,
  parseCommandLine,
  parseInteger,
  parseMetadataPairs,
  parsePairs,
  stringFlag,
  validatePayload,
  type GlobalOptions,
  type Parsed,
  type ParsedValues,
} from './args.js';
import { loadCliConfig, printJson, processIo, type CliCommand, type CliIo } from './context.js';
import { reportToFlag, withRuns } from './runs.js';
import { ACL_CHOICES } from './copy.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { commandHelp, wrapList } from './help.js';
import { EXIT_INTERRUPTED, interruptsOf, type InterruptibleIo } from './interrupt.js';

export { EXIT_INTERRUPTED };

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  // Here --prefix is the S3 key prefix; the queue's key prefix is --queue-prefix.
  prefix: { type: 'string' },
  'queue-prefix': { type: 'string' },
  bucket: { type: 'string' },
  profile: { type: 'string' },
  acl: { type: 'string' },
  set: { type: 'string', multiple: true },
  remove: { type: 'string', multiple: true },
  'mimetype-from-extension': { type: 'boolean' },
  'cache-control': { type: 'string' },
  header: { type: 'string', multiple: true },
  filter: { type: 'string' },
  'min-size': { type: 'string' },
  'max-size': { type: 'string' },
  'run-id': { type: 'string' },
  resume: { type: 'string' },
  'dry-run': { type: 'boolean' },
  window: { type: 'string' },
  'batch-size': { type: 'string' },
  rate: { type: 'string' },
  'fail-threshold': { type: 'string' },
  'fail-after': { type: 'string' },
  report: { type: 'string' },
  'no-wait': { type: 'boolean' },
  manifest: { type: 'string' },
  tag: { type: 'string', multiple: true },
  merge: { type: 'boolean' },
  metadata: { type: 'string', multiple: true },
  mimetype: { type: 'string' },
  'report-to': { type: 'string' },
  to: { type: 'string' },
  'storage-class': { type: 'string' },
  'require-guard': { type: 'boolean' },
  's3-retry-budget': { type: 'string' },
} as const;

/** What a run command does to each object: rewrite its metadata (migrate-metadata), set its tags (tag-run), put an ACL (acl-run). */
export type RunOp = 'metadata' | 'tagging' | 'acl' | 'copy';

const COMMAND_OF: Record<RunOp, string> = RUN_COMMANDS;

/** Flags of migrate-metadata that do not apply to the other run commands. */
const METADATA_ONLY = ['set', 'mimetype-from-extension', 'cache-control', 'header', 'require-guard'] as const;

/** Flags that say what the migration does: with --resume they may be left out (the run's own are used). */
const SPEC_FLAGS = ['bucket', 'prefix', 'profile', 'acl', 'set', 'remove', 'mimetype-from-extension', 'cache-control', 'header', 'filter', 'min-size', 'max-size', 'require-guard', 'manifest', 'tag', 'merge', 'metadata', 'mimetype', 'to', 'storage-class'] as const;

/** Which flag sets each field of the job, for validation messages. */
const FLAGS: Record<string, string> = {
  bucket: '--bucket',
  key: '--prefix',
  acl: '--acl',
  set: '--set',
  remove: '--remove',
  mimetype: '--mimetype-from-extension',
  headers: '--header',
  profile: '--profile',
};

export const DEFAULT_FAIL_THRESHOLD = { ratio: 0.5, after: 1_000 } as const;

export interface MigrateRequest {
  /** Undefined with `--resume ID` alone: the run's own spec is used. */
  spec: MigrationSpec | undefined;
  runId: string | undefined;
  resume: boolean;
  dryRun: boolean;
  /** Undefined: the resumed run's own, else DEFAULT_WINDOW. */
  window: number | undefined;
  /** Objects per job (1: one metadata-rewrite job per object); undefined: the resumed run's own, else 1. */
  batchSize: number | undefined;
  ratePerSecond: number | undefined;
  failureThreshold: { after: number; ratio: number } | undefined;
  reportPath: string | undefined;
  /**
   * --report-to: where the Batch Operations form of the report is uploaded when the run ends. Kept
   * with the run (RunInfo.reportTo), so `s3jobs run report` uploads it for a run that ends later.
   */
  reportTo?: ReportTarget | undefined;
  wait: boolean;
  /** --s3-retry-budget; undefined: the config's (S3JOBS_S3_RETRY_BUDGET_MS, default 5 min). */
  s3RetryBudgetMs: number | undefined;
  globals: GlobalOptions;
}

/** `--s3-retry-budget`: `5m`, `90s`, `1h`, or `0` (fail at the first S3 error). */
function parseRetryBudget(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === '0') return 0;
  try {
    return parseDuration(raw, '--s3-retry-budget');
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError('--s3-retry-budget', `${err.message.slice(err.field.length + 2)}; or 0 to stop at the first S3 failure`);
    throw err;
  }
}

function positiveNumber(raw: string | undefined, flag: string, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw.trim().replace(/_/g, ''));
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) throw new UsageError(flag, `${JSON.stringify(raw)} is not allowed; give a number above 0, at most ${max}`);
  return value;
}

/** `0.5`, `50%` or `off`. */
export function parseFailThreshold(raw: string | undefined, afterRaw: string | undefined): { after: number; ratio: number } | undefined {
  const after = parseInteger(afterRaw, '--fail-after', 1, Number.MAX_SAFE_INTEGER);
  if (raw?.trim().toLowerCase() === 'off') {
    if (after !== undefined) throw new UsageError('--fail-after', 'does not apply with --fail-threshold off');
    return undefined;
  }
  let ratio: number = DEFAULT_FAIL_THRESHOLD.ratio;
  if (raw !== undefined) {
    const text = raw.trim();
    const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
    if (text === '' || !Number.isFinite(value) || value <= 0 || value > 1)
      throw new UsageError('--fail-threshold', `${JSON.stringify(raw)} is not allowed; give the share of failed jobs that stops the run, above 0 and at most 1 (0.5 or 50%), or "off"`);
    ratio = value;
  }
  return { ratio, after: after ?? DEFAULT_FAIL_THRESHOLD.after };
}

/** Pure: the spec flags into a migration spec, validated with the job schema (errors name the flag). */
/** `--manifest` into the spec (with --prefix or a filter refused beside it). */
function applyManifest(values: ParsedValues, spec: MigrationSpec): void {
  const manifest = stringFlag(values, 'manifest');
  if (manifest === undefined) return;
  if (spec.prefix !== undefined) throw new UsageError('--prefix', 'does not apply with --manifest: the manifest names the objects');
  if (spec.filter !== undefined) throw new UsageError('--filter', 'does not apply with --manifest: the manifest names the objects (--filter, --min-size, --max-size)');
  let location: ManifestLocation;
  try {
    location = parseManifestLocation(manifest, '--manifest');
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError('--manifest', err.message.slice(err.field.length + 2));
    throw err;
  }
  // A file by its absolute path: a resume from another directory names the same manifest.
  spec.manifest = location.kind === 'file' ? location.path : manifest;
}

/** Pure: --filter, --min-size, --max-size into the listing filter (empty when none is given). */
function filterFrom(values: ParsedValues): KeyFilterOptions {
  const filter: KeyFilterOptions = {};
  const glob = stringFlag(values, 'filter');
  if (glob !== undefined) {
    try {
      globToRegExp(glob, '--filter');
    } catch (err) {
      if (err instanceof ValidationError) throw new UsageError('--filter', err.message.slice(err.field.length + 2));
      throw err;
    }
    filter.glob = glob;
  }
  const minSize = parseInteger(stringFlag(values, 'min-size'), '--min-size', 0, Number.MAX_SAFE_INTEGER);
  const maxSize = parseInteger(stringFlag(values, 'max-size'), '--max-size', 0, Number.MAX_SAFE_INTEGER);
  if (minSize !== undefined && maxSize !== undefined && minSize > maxSize) throw new UsageError('--min-size', `(${minSize}) is larger than --max-size (${maxSize}): no object could match`);
  if (minSize !== undefined) filter.minSize = minSize;
  if (maxSize !== undefined) filter.maxSize = maxSize;
  return filter;
}

/** Pure: the flags of tag-run / acl-run into a run spec (errors name the flag). */
function operationSpecFrom(values: ParsedValues, op: 'tagging' | 'acl' | 'copy'): MigrationSpec {
  const command = COMMAND_OF[op];
  const copyOnly = ['to', 'storage-class', 'metadata', 'mimetype'];
  const notHere = op === 'tagging' ? ['acl', ...copyOnly] : op === 'acl' ? ['tag', 'merge', 'remove', ...copyOnly] : ['tag', 'merge', 'remove'];
  // A copy takes the copy job's system headers (--header); the rest of migrate-metadata's flags are its own.
  const metadataOnly = op === 'copy' ? METADATA_ONLY.filter((flag) => flag !== 'header') : METADATA_ONLY;
  for (const flag of [...metadataOnly, ...notHere]) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag}`, `does not apply to ${command}`);
  }
  const bucket = stringFlag(values, 'bucket');
  if (bucket === undefined) throw new UsageError('--bucket', `is required: the bucket whose objects ${op === 'acl' ? 'get the ACL' : 'are tagged'} (or give --resume ID to continue a run)`);
  let operation: RunOperation;
  if (op === 'copy') {
    const to = stringFlag(values, 'to');
    if (to === undefined) throw new UsageError('--to', 'is required: the destination, bucket/prefix (each key below the source prefix keeps its place below it)');
    const slash = to.indexOf('/');
    const acl = stringFlag(values, 'acl');
    if (acl === undefined) throw new UsageError('--acl', `is required (S3 never copies ACLs); allowed: ${ACL_CHOICES} ("replicate-source" copies each object's own)`);
    const storageClass = stringFlag(values, 'storage-class');
    // As `s3jobs copy`: only the fields given, so a spec without them keeps its run id.
    const metadata = parseMetadataPairs(listFlag(values, 'metadata'), '--metadata');
    const mimetype = stringFlag(values, 'mimetype');
    const headers = parsePairs(listFlag(values, 'header'), '--header');
    operation = {
      kind: 'copy',
      bucket: slash < 0 ? to : to.slice(0, slash),
      prefix: slash < 0 ? '' : to.slice(slash + 1),
      acl: acl as CopyAcl,
      ...(storageClass === undefined ? {} : { storageClass: storageClass as StorageClass }),
      ...(metadata === undefined ? {} : { metadata }),
      ...(mimetype === undefined ? {} : { mimetype }),
      ...(headers === undefined ? {} : { headers }),
    };
  } else if (op === 'acl') {
    const acl = stringFlag(values, 'acl');
    if (acl === undefined) throw new UsageError('--acl', `is required: the canned ACL each object gets; allowed: ${CANNED_ACLS.object.join(', ')}`);
    operation = { kind: 'acl', acl: acl as CannedAcl };
  } else {
    const merge = booleanFlag(values, 'merge');
    const remove = listFlag(values, 'remove');
    if (remove.length > 0 && !merge) throw new UsageError('--remove', 'applies with --merge (without it, the --tag pairs are the whole new tag set)');
    const tags = parseTagFlags(listFlag(values, 'tag'));
    if (Object.keys(tags).length === 0 && remove.length === 0) throw new UsageError('--tag', 'give at least one --tag KEY=VALUE (or --merge --remove KEY)');
    operation = { kind: 'tagging', tags, ...(merge ? { mode: 'merge' as const } : {}), ...(remove.length > 0 ? { remove } : {}) };
  }
  const spec: MigrationSpec = { profile: stringFlag(values, 'profile') ?? 'default', bucket, operation };
  const prefix = stringFlag(values, 'prefix');
  if (prefix !== undefined && prefix !== '') spec.prefix = prefix;
  const filter = filterFrom(values);
  if (Object.keys(filter).length > 0) spec.filter = filter;
  applyManifest(values, spec);
  validatePayload(operationJobFor(spec, operation, `${prefix ?? ''}probe`, undefined, undefined, undefined), { ...FLAGS, acl: '--acl', tags: '--tag', remove: '--remove', destination: '--to', storageClass: '--storage-class', source: '--bucket', metadata: '--metadata', mimetype: '--mimetype' });
  return spec;
}

function specFrom(values: ParsedValues, op: RunOp = 'metadata'): MigrationSpec {
  if (op !== 'metadata') return operationSpecFrom(values, op);
  const bucket = stringFlag(values, 'bucket');
  if (bucket === undefined) throw new UsageError('--bucket', 'is required: the bucket whose objects are migrated (or give --resume ID to continue a run)');
  const acl = stringFlag(values, 'acl');
  if (acl === undefined)
    throw new UsageError('--acl', `is required: each rewrite is a copy onto itself, which resets the object's ACL; allowed: ${ACL_CHOICES} ("replicate-source" keeps each object's own)`);
  const set = parseMetadataPairs(listFlag(values, 'set'), '--set');
  const remove = listFlag(values, 'remove');
  for (const name of remove) {
    if (name.trim() === '') throw new UsageError('--remove', 'needs a metadata name');
    const clash = Object.keys(set ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
    if (clash !== undefined) throw new UsageError('--remove', `"${name}" is also given to --set ("${clash}"); set it or remove it, not both`);
  }
  const headers = parsePairs(listFlag(values, 'header'), '--header') ?? {};
  const cacheControl = stringFlag(values, 'cache-control');
  if (cacheControl !== undefined) {
    if (Object.keys(headers).some((h) => h.toLowerCase() === 'cache-control')) throw new UsageError('--cache-control', 'is also given as --header cache-control=...; give it once');
    headers['cache-control'] = cacheControl;
  }
  const mimetypeFromExtension = booleanFlag(values, 'mimetype-from-extension');
  if (set === undefined && remove.length === 0 && Object.keys(headers).length === 0 && !mimetypeFromExtension)
    throw new UsageError('--set', 'nothing to change: give at least one of --set, --remove, --mimetype-from-extension, --cache-control or --header');

  const filter = filterFrom(values);

  const prefix = stringFlag(values, 'prefix');
  // Only the fields given: the spec is the run's identity (its default id is a hash of it).
  const spec: MigrationSpec = { profile: stringFlag(values, 'profile') ?? 'default', bucket, acl: acl as MigrationSpec['acl'] };
  if (prefix !== undefined && prefix !== '') spec.prefix = prefix;
  if (set !== undefined) spec.set = set;
  if (remove.length > 0) spec.remove = remove;
  if (mimetypeFromExtension) spec.mimetypeFromExtension = true;
  if (Object.keys(headers).length > 0) spec.headers = headers;
  if (Object.keys(filter).length > 0) spec.filter = filter;
  // Only when given: a spec without it keeps the run id it had before the flag existed.
  if (booleanFlag(values, 'require-guard')) spec.requireGuard = true;
  applyManifest(values, spec);
  // Every job of the run is this probe with another key: check it the way the workers will.
  validatePayload(rewriteJobFor(spec, { key: `${prefix ?? ''}probe` }, undefined, undefined), FLAGS);
  return spec;
}

/** Pure: the command line into what to run; UsageError naming the flag otherwise. */
export function parseMigrateArgs(argv: readonly string[], op: RunOp = 'metadata'): Parsed<{ request: MigrateRequest }> {
  const { values } = parseCommandLine(COMMAND_OF[op], argv, OPTIONS, { names: [] });
  if (op === 'metadata') {
    for (const flag of ['tag', 'merge'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag}`, 'does not apply to migrate-metadata (see s3jobs tag-run)');
    for (const flag of ['metadata', 'mimetype', 'to', 'storage-class'] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag}`, `does not apply to migrate-metadata (${flag === 'metadata' ? 'use --set/--remove' : flag === 'mimetype' ? 'use --header content-type=TYPE' : 'see s3jobs copy-run'})`);
  }
  if (values.help === true) return { help: true };
  const globals: GlobalOptions = {
    overrides: { redisUrl: stringFlag(values, 'redis-url'), queue: stringFlag(values, 'queue'), prefix: stringFlag(values, 'queue-prefix') },
    json: booleanFlag(values, 'json'),
  };
  const runIdFlag = stringFlag(values, 'run-id');
  const resumeId = stringFlag(values, 'resume');
  if (runIdFlag !== undefined && resumeId !== undefined) throw new UsageError('--resume', 'give --run-id (start or continue that run) or --resume (continue an existing run), not both');
  const runId = resumeId ?? runIdFlag;
  if (runId !== undefined) {
    try {
      RunStore.assertRunId(runId);
    } catch (err) {
      if (err instanceof ValidationError) throw new UsageError(resumeId !== undefined ? '--resume' : '--run-id', err.message.slice(err.field.length + 2));
      throw err;
    }
  }
  const resume = resumeId !== undefined;
  const dryRun = booleanFlag(values, 'dry-run');
  if (dryRun && resume) throw new UsageError('--dry-run', 'does not apply to --resume (a dry run lists what a new run would do; see a run with: s3jobs run show ID)');
  const specGiven = SPEC_FLAGS.some((f) => values[f] !== undefined);
  const spec = resume && !specGiven ? undefined : specFrom(values, op);
  const wait = !booleanFlag(values, 'no-wait');
  return {
    help: false,
    request: {
      spec,
      runId,
      resume,
      dryRun,
      // Undefined when not given: a new run uses DEFAULT_WINDOW, a resumed one its own.
      window: parseInteger(stringFlag(values, 'window'), '--window', 1, 10_000_000),
      batchSize: parseInteger(stringFlag(values, 'batch-size'), '--batch-size', 1, MAX_BATCH_OBJECTS),
      ratePerSecond: positiveNumber(stringFlag(values, 'rate'), '--rate', 1_000_000),
      failureThreshold: parseFailThreshold(stringFlag(values, 'fail-threshold'), stringFlag(values, 'fail-after')),
      reportPath: stringFlag(values, 'report'),
      reportTo: reportToFlag(stringFlag(values, 'report-to')),
      wait,
      s3RetryBudgetMs: parseRetryBudget(stringFlag(values, 's3-retry-budget')),
      globals,
    },
  };
}

/** The listing client, with the producer's own credentials from its profile. */
export function listingBucket(config: S3JobsConfig, spec: MigrationSpec): S3Bucket {
  let profile;
  try {
    profile = resolveProfile(config, spec.profile);
  } catch (err) {
    throw new UsageError('--profile', `${(err as Error).message.replace('on this worker', 'for this producer (it lists the bucket with it)')}`);
  }
  return new S3Bucket({
    ...connectionOf(profile, spec.bucket),
    // Below the run lease's TTL (30 s): a stalled listing request fails before the lease runs out.
    timeout: profile.requestTimeoutMs ?? 20_000,
  });
}

/**
 * Extra I/O the migrate command uses beyond `CliIo`; taken from the process for `processIo`.
 * `onInterrupt` (InterruptibleIo) stops the run on Ctrl-C.
 */
export interface MigrateIo extends InterruptibleIo {
  /** Whether stderr is a terminal (a redrawn bar) or not (plain lines). */
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

function terminalOf(io: MigrateIo): { tty: boolean; columns: number | undefined; onInterrupt: MigrateIo['onInterrupt'] } {
  if (io !== processIo) return { tty: io.isTTY === true, columns: io.columns, onInterrupt: interruptsOf(io) };
  return { tty: process.stderr.isTTY === true, columns: process.stderr.columns, onInterrupt: interruptsOf(io) };
}

export { resumeHint };

/**
 * Pure: what a run left to the workers (--no-wait) prints: its report, in Batch Operations' form
 * too and uploaded to its --report-to, is produced by `run report` once the run has ended.
 */
export function noWaitNote(runId: string, uploadTo: ReportTarget | undefined): string {
  const upload = uploadTo === undefined ? '' : ` and uploads it to ${reportTargetText(uploadTo)}`;
  return (
    `Everything is enqueued; workers are finishing the run. Follow it with: s3jobs run show ${runId}; collect its report with: s3jobs run report ${runId} --wait ` +
    `(it waits for the run to end, then writes the report in S3 Batch Operations' form too${upload}), or s3jobs run report ${runId} once the run has ended\n`
  );
}

/** Pure: the exit code a finished call maps to. */
export function migrationExitCode(result: MigrationResult): number {
  if (result.interrupted) return EXIT_INTERRUPTED;
  if (result.run.state === 'stopped' || result.run.deadLettered > 0) return ExitCode.Failed;
  return ExitCode.Ok;
}

/** Pure: the dry run's report. */
export function formatDryRun(spec: MigrationSpec, result: MigrationResult): string {
  const dry = result.dryRun!;
  const lines = [
    `Dry run of run ${result.run.id}: nothing was changed, nothing enqueued.`,
    `  objects:  ${describeSelection(spec)}`,
    `  listed:   ${formatCount(dry.listed)}`,
    `  match:    ${formatCount(dry.matched)}`,
    `  change:   ${describeChanges(spec)}`,
  ];
  if (dry.sample.length > 0) lines.push(`  first matches:`, ...dry.sample.map((k) => `    ${k}`));
  if (result.interrupted) lines.push('Interrupted: the counts above are partial.');
  else lines.push(`Run the same command without --dry-run to enqueue ${formatCount(dry.matched)} rewrite job${dry.matched === 1 ? '' : 's'}.`);
  return `${lines.join('\n')}\n`;
}

async function specOfRun(store: RunStore, runId: string): Promise<MigrationSpec> {
  const run = await store.get(runId);
  if (run === undefined) throw new RunNotFoundError(runId);
  if (run.kind !== MIGRATION_KIND || run.spec === null || typeof run.spec !== 'object') throw new UsageError('--resume', `run ${runId} is a ${run.kind} run, not a metadata migration`);
  return run.spec as MigrationSpec;
}

async function run(request: MigrateRequest, io: MigrateIo): Promise<number> {
  const config = loadQueueConfig(request.globals, io);
  const terminal = terminalOf(io);
  const controller = new AbortController();
  const removeInterrupt = terminal.onInterrupt?.(() => {
    io.stderr(`${terminal.tty ? '\n' : ''}Interrupted: stopping the listing (Ctrl-C again to quit at once)...\n`);
    controller.abort();
  });
  try {
    return await withRuns(config, async ({ queue, store }) => {
      const spec = request.spec ?? (await specOfRun(store, request.runId!));
      const listing = listingBucket(config, spec);
      const manifestBuckets = new Map<string, S3Bucket>();
      const bucket =
        spec.manifest === undefined
          ? listing
          : new ManifestSource(parseManifestLocation(spec.manifest), spec.bucket, async (name, key) => {
              let client = name === spec.bucket ? listing : manifestBuckets.get(name);
              if (client === undefined) manifestBuckets.set(name, (client = listingBucket(config, { ...spec, bucket: name })));
              return (await client.get(key)).body;
            });
      const display = new ProgressDisplay({ write: (t) => io.stderr(t), tty: terminal.tty, columns: terminal.columns });
      // --report-to is kept with the run as soon as the run exists (its first progress call), so a
      // producer killed before the end leaves it recorded for a resume or `s3jobs run report`.
      const reportToText = request.reportTo === undefined || request.dryRun ? undefined : reportTargetText(request.reportTo);
      let reportToRecorded: Promise<unknown> | undefined;
      const recordReportTo = async (runId: string): Promise<void> => {
        if (reportToText === undefined) return;
        // The failure is kept, not thrown into the progress callback: the awaits below surface it.
        const failure = await (reportToRecorded ??= store.setReportTo(runId, reportToText).then(() => undefined, (err: unknown) => err));
        if (failure !== undefined) throw failure;
      };
      const options: MigrationOptions = {
        runId: request.runId,
        mustExist: request.resume,
        dryRun: request.dryRun,
        window: request.window,
        batchSize: request.batchSize,
        ratePerSecond: request.ratePerSecond,
        failureThreshold: request.failureThreshold,
        reportPath: request.reportPath,
        waitForCompletion: request.wait,
        s3RetryBudgetMs: request.s3RetryBudgetMs ?? config.producer.s3RetryBudgetMs,
        attempts: config.retry.attempts,
        backoffMs: config.retry.backoffBaseMs,
        signal: controller.signal,
        onProgress: (r, status) => {
          display.update(r, status);
          void recordReportTo(r.id).catch(() => undefined);
        },
      };
      const started = Date.now();
      let result: MigrationResult;
      try {
        result = await runMigration({ bucket, queue, store }, spec, options);
      } catch (err) {
        // A run S3 stopped is resumable as it stands: it keeps its --report-to like any other.
        if (err instanceof S3UnavailableError) await recordReportTo(err.runId).catch(() => undefined);
        throw err;
      } finally {
        display.finish();
        for (const client of [listing, ...manifestBuckets.values()]) await client.close().catch(() => undefined);
      }
      const code = migrationExitCode(result);
      if (result.dryRun === undefined) await recordReportTo(result.run.id);
      // The run as it is now stored (its reportTo was read before this command recorded its own).
      const run: RunInfo = reportToText === undefined || result.dryRun !== undefined ? result.run : { ...result.run, reportTo: reportToText };
      // Not given here: the one kept with the run (a resume, or a run first started with it).
      const uploadTo = request.reportTo ?? storedReportTarget(run);
      const ended = result.dryRun === undefined && !result.interrupted && (run.state === 'completed' || run.state === 'stopped') && result.reportPath !== undefined;
      const deliver = async (): Promise<DeliveredReport | undefined> => (ended ? deliverBatchOpsReport(config, run, result.reportPath!, uploadTo) : undefined);
      let delivered: DeliveredReport | undefined;
      if (request.globals.json) {
        // The JSON document says what was delivered, so it comes first; text prints the summary first.
        delivered = await deliver();
        const batchOps = delivered === undefined ? undefined : { path: delivered.path, uploadedTo: delivered.uploadedTo, ...delivered.totals, incomplete: delivered.incomplete };
        printJson(io, { run, dryRun: result.dryRun, reportPath: result.reportPath, interrupted: result.interrupted, resumed: result.resumed, exitCode: code, batchOps });
      } else if (result.dryRun !== undefined) {
        io.stdout(formatDryRun(spec, result));
      } else {
        if (result.resumed) io.stderr(`(resumed run ${result.run.id}, created ${new Date(result.run.createdAt).toISOString()})\n`);
        if (!result.reportFound) io.stderr(`note: the run's report was not found here; rows drained earlier are in the report where the run started\n`);
        io.stdout(summaryTable(result.run, { elapsedMs: Date.now() - started, reportPath: result.reportPath, interrupted: result.interrupted }));
        delivered = await deliver();
      }
      if (delivered !== undefined) io.stderr(`${delivered.line}\n`);
      if (result.interrupted) {
        io.stderr(`The run is resumable: jobs already enqueued keep running. Resume it with:\n  ${resumeHint(run.id, spec)}\n`);
        if (uploadTo !== undefined) io.stderr(`note: the run keeps --report-to ${reportTargetText(uploadTo)}: its report is uploaded there when it ends\n`);
      } else if (result.dryRun === undefined && run.state === 'draining') io.stderr(noWaitNote(run.id, uploadTo));
      else if (result.run.state === 'stopped') io.stderr(`Run ${result.run.id} was stopped: ${result.run.stopReason ?? ''}. Its dead letters: s3jobs dlq list\n`);
      return code;
    });
  } catch (err) {
    if (err instanceof RunNotFoundError) {
      io.stderr(`s3jobs migrate-metadata: ${err.message}\n`);
      return ExitCode.NotFound;
    }
    // Reported by the dispatcher (exit code 5); first how to go on once the store is back.
    if (err instanceof S3UnavailableError) io.stderr(`The run is resumable once S3 answers again: jobs already enqueued keep running. Resume it with:\n  ${resumeHint(err.runId, request.spec)}\n`);
    if (controller.signal.aborted && request.runId !== undefined) io.stderr(`Resume with: ${resumeHint(request.runId, request.spec)}\n`);
    throw err;
  } finally {
    removeInterrupt?.();
  }
}

/** The config, with an invalid --queue-prefix named as such (loadCliConfig knows it as --prefix). */
function loadQueueConfig(globals: GlobalOptions, io: CliIo): S3JobsConfig {
  try {
    return loadCliConfig(globals, io);
  } catch (err) {
    if (err instanceof UsageError && err.field === '--prefix') throw new UsageError('--queue-prefix', err.message.slice(err.field.length + 2));
    throw err;
  }
}

const HELP = commandHelp({
  usage: 's3jobs migrate-metadata --bucket B [--prefix P] --acl ACL [--set NAME=VALUE ...] [--remove NAME ...]\n         [--mimetype-from-extension] [--cache-control V] [--header NAME=VALUE ...] [flags]',
  summary: `Changes the metadata of every object under a prefix — a bulk migration. The bucket is listed page
by page and one metadata-rewrite job per matching object is enqueued for the workers; progress is
shown live and a CSV report (bucket, key, status, changed, error code, message, attempts, new ETag)
lists every object once. Other metadata and system headers (Content-Type, Cache-Control, ...) are
kept unless changed. The listing uses this machine's connection profile (--profile); the rewrites
use the workers' profile of the same name.

A migration is a named run kept in Redis: see it with 's3jobs runs' and 's3jobs run show ID'. If
this command stops (Ctrl-C, a crash, a lost terminal), run the same command again, or
--resume ID: it continues from where the listing was, and no object is enqueued twice. The run id
is a hash of the options, so the same command always means the same run; once the run is finished,
running it again only prints its summary (give --run-id NEW to run it anew).

Workers do the rewrites: start some with 's3jobs worker' (same Redis and queue, and a connection
profile of the same name). Start with --dry-run: it lists what would change and changes nothing.`,
  examples: [
    's3jobs migrate-metadata --bucket media --prefix site/ --acl private --mimetype-from-extension --dry-run',
    's3jobs migrate-metadata --bucket media --prefix site/ --acl private --mimetype-from-extension --cache-control max-age=3600',
    's3jobs migrate-metadata --bucket media --prefix photos/2023/ --acl replicate-source --set owner=team-a --remove draft --filter "**/*.jpg"',
    's3jobs migrate-metadata --bucket logs --acl private --header content-encoding=gzip --min-size 1 --rate 200 --window 5000',
    's3jobs migrate-metadata --resume mig-3f2a9c0d1e4b5a6f',
  ],
  flags: `What to change (at least one):
  --set NAME=VALUE           add or overwrite one user metadata entry (x-amz-meta-NAME; repeat)
  --remove NAME              delete one user metadata entry (repeat)
  --mimetype-from-extension  set Content-Type from each key's extension (.html, .jpg, ...);
                             objects with an unknown extension keep theirs
  --cache-control VALUE      set Cache-Control, e.g. "max-age=3600, public"
  --header NAME=VALUE        set a system header (repeat): cache-control, content-disposition,
                             content-encoding, content-language, expires; NAME= removes it
  --acl ACL                  required (each rewrite is a copy onto itself, which resets the ACL):
                             ${wrapList([...CANNED_ACLS.object, 'replicate-source'], 29)}
                             (replicate-source keeps each object's own ACL)

Which objects:
  --bucket NAME              required
  --prefix P                 only keys starting with P (here the S3 key prefix; the queue's Redis
                             key prefix is --queue-prefix)
  --filter GLOB              only keys matching GLOB (whole key): * within a path segment,
                             ** across segments, ? one character; e.g. "**/*.jpg"
  --min-size N, --max-size N only objects of N bytes or more / at most N bytes
  --manifest FILE|s3://B/K   the objects a manifest names instead of a listing: a CSV of
                             bucket,key[,versionId] (keys URL-encoded as S3 Inventory writes them),
                             or an S3 Inventory manifest.json (its CSV files, gzip or not, MD5
                             checked). Rows naming another bucket, with wrong columns or an
                             undecodable key are reported failed; a resume goes on from the row
                             where the run was
  --profile NAME             connection profile to list with (default "default"); the workers
                             need one of the same name
  --require-guard            refuse each rewrite (dead-lettered S3JOBS_UNGUARDED) where the store
                             is not known to honour the ETag guard that keeps an upload made
                             meanwhile from being overwritten (see S3JOBS_PROFILE_<NAME>_PROVIDER)

The run:
  --run-id ID                name the run (default: a hash of the options above); an existing run
                             of that id is continued (its options must be the same)
  --resume ID                continue run ID (its own options are used; giving them is optional)
  --dry-run                  list and count what would change; change nothing (no jobs, no run)
  --window N                 at most N objects waiting in the queue: listing pauses while it is
                             full, so Redis memory stays bounded (default ${formatCount(DEFAULT_WINDOW)};
                             a resumed run keeps its own unless this is given)
  --batch-size N             objects per job, 1-${MAX_BATCH_OBJECTS} (default 1). A waiting job costs
                             Redis ~1 KB whatever it carries, and each costs BullMQ's round trips: use
                             50-100 for runs of millions of objects.
                             Each object is still retried, dead-lettered and reported on its own.
                             A resumed run keeps its own unless this is given
  --rate N                   at most N objects per second (each costs a HEAD and a copy), so
                             a busy bucket never answers SlowDown; it also caps the window at 2 s
                             worth of jobs (default: as fast as the workers go; S3JOBS_RATE_LIMIT
                             on the workers caps all their jobs). A resumed run keeps its own
                             unless this is given
  --fail-threshold R|off     stop the run once more than R (0.5 or 50%) of its finished jobs were
                             dead-lettered (default 0.5; watched while this command runs). A
                             stopped run's jobs not yet started are cancelled (and reported)
  --fail-after N             judge that only after N jobs finished (default ${formatCount(DEFAULT_FAIL_THRESHOLD.after)})
  --report FILE              the CSV report (default <run id>.report.csv here; a resumed run keeps
                             its own)
  --no-wait                  return once everything is enqueued; the report (and its upload to
                             --report-to) is then produced by s3jobs run report ID --wait, or by
                             s3jobs run report ID once the run has ended
  --report-to s3://B/P/      when the run ends, upload its report in S3 Batch Operations' form
                             (no header: Bucket, Key, VersionId, TaskStatus succeeded|failed,
                             ErrorCode, HTTPStatusCode, ResultMessage) as P<run id>.csv, with a
                             summary line in P<run id>.summary.txt (the same CSV is always written
                             next to the report, as <report>.batchops.csv). Kept with the run: a
                             resume or s3jobs run report ID uses it without it being given again
  --s3-retry-budget DURATION while S3 is unavailable (refused, reset, timeouts, 5xx, SlowDown) the
                             listing retries at the same position for this long (5m, 90s, 1h; 0:
                             not at all); then the command stops, resumable, with exit code 5
                             (default 5m, or S3JOBS_S3_RETRY_BUDGET_MS)
  --queue-prefix PREFIX      BullMQ key prefix (default S3JOBS_PREFIX or "{s3jobs}")

Progress goes to stderr: a bar redrawn in place on a terminal (at most 5 times a second), else a
line every 5 s. The summary goes to stdout (with --json: one JSON document).

What the exit code says here: 0 every object completed (with --no-wait: everything enqueued; with
--dry-run: listed), 1 objects were dead-lettered or the run was stopped (failure threshold), 3 Redis
unreachable, 4 no run to --resume, 5 S3 unavailable past --s3-retry-budget (the run is resumable,
the command says how), 130 interrupted (Ctrl-C): the run is resumable, the command says how.`,
});

export const migrateMetadataCommand: CliCommand = {
  name: 'migrate-metadata',
  summary: 'change the metadata of every object under a prefix (a resumable bulk run)',
  help: HELP,
  async run(argv, io) {
    const parsed = parseMigrateArgs(argv);
    if (parsed.help) {
      io.stdout(HELP);
      return ExitCode.Ok;
    }
    return run(parsed.request, io as MigrateIo);
  },
};

function runCommandFor(op: 'tagging' | 'acl' | 'copy', help: string, summary: string): CliCommand {
  return {
    name: COMMAND_OF[op],
    summary,
    help,
    async run(argv, io) {
      const parsed = parseMigrateArgs(argv, op);
      if (parsed.help) {
        io.stdout(help);
        return ExitCode.Ok;
      }
      return run(parsed.request, io as MigrateIo);
    },
  };
}

const RUN_FLAGS_NOTE = `The run flags are migrate-metadata's: --filter GLOB, --min-size N, --max-size N (over a
listing), --run-id, --resume ID, --dry-run, --window N, --batch-size N, --rate N,
--fail-threshold R|off, --fail-after N, --report FILE, --report-to s3://B/P/, --no-wait,
--queue-prefix P (see s3jobs migrate-metadata --help). A run is listed by s3jobs runs and shown by
s3jobs run show ID; after --no-wait, s3jobs run report ID --wait waits for it to end and writes its
report (in S3 Batch Operations' form too, uploaded to its --report-to).`;

const TAG_RUN_HELP = commandHelp({
  usage: 's3jobs tag-run --bucket B (--prefix P | --manifest FILE|s3://B/K) --tag KEY=VALUE ... [--merge [--remove KEY ...]] [run flags]',
  summary: `Sets the tags of every object under a prefix or named in a manifest — a resumable bulk run with
one tagging job per object, or --batch-size N per job (no copy: ETags, metadata and ACLs stay). The --tag pairs replace each
object's tags, or with --merge are set over them (--remove takes keys out; an object that would end
with more than 10 tags is dead-lettered). A manifest row's version id tags that version.

${RUN_FLAGS_NOTE}`,
  examples: [
    's3jobs tag-run --bucket media --prefix site/ --tag team=web --tag stage=live',
    's3jobs tag-run --bucket media --manifest s3://inventory/media/2024-05-01T00-00Z/manifest.json --merge --tag reviewed=yes',
  ],
  flags: `Tag-run flags:
  --bucket NAME             required; manifest rows naming another bucket are reported failed
  --prefix P | --manifest M the objects: a listing, or a manifest (see migrate-metadata --help)
  --tag KEY=VALUE           one tag (repeat, at most 10)
  --merge                   keep each object's other tags
  --remove KEY              with --merge: take this tag off (repeat)
  --profile NAME            connection profile (default "default")`,
});

const ACL_RUN_HELP = commandHelp({
  usage: 's3jobs acl-run --bucket B (--prefix P | --manifest FILE|s3://B/K) --acl ACL [run flags]',
  summary: `Puts a canned ACL on every object under a prefix or named in a manifest — a resumable bulk run
with one acl job per object, or --batch-size N per job (no copy). A manifest row's version id
targets that version.

${RUN_FLAGS_NOTE}`,
  examples: ['s3jobs acl-run --bucket media --prefix public/ --acl public-read', 's3jobs acl-run --bucket media --manifest ./private.csv --acl private'],
  flags: `Acl-run flags:
  --bucket NAME             required; manifest rows naming another bucket are reported failed
  --prefix P | --manifest M the objects: a listing, or a manifest (see migrate-metadata --help)
  --acl ACL                 ${wrapList([...CANNED_ACLS.object], 28)}
  --profile NAME            connection profile (default "default")`,
});

export const tagRunCommand: CliCommand = runCommandFor('tagging', TAG_RUN_HELP, 'set the tags of every object under a prefix or in a manifest (a resumable bulk run)');
export const aclRunCommand: CliCommand = runCommandFor('acl', ACL_RUN_HELP, 'put a canned ACL on every object under a prefix or in a manifest (a resumable bulk run)');

const COPY_RUN_HELP = commandHelp({
  usage: 's3jobs copy-run --bucket B (--prefix P | --manifest FILE|s3://B/K) --to DEST-BUCKET[/PREFIX] --acl ACL [--storage-class C] [run flags]',
  summary: `Copies every object under a prefix or named in a manifest to another bucket/prefix, server-side —
a resumable bulk run with one copy job per object, or with --batch-size N up to N objects per
copy-batch job (each object still copied, retried, dead-lettered and reported as its own copy job),
with the copy job's own handling: metadata and system headers kept, multipart for objects above the
multipart threshold, no job deadline for large transfers. The key below --prefix keeps its place
below the destination prefix; a manifest row's key goes below it whole, and its version id copies
that version. Report rows name the source object (and version) the task copied.

${RUN_FLAGS_NOTE}`,
  examples: ['s3jobs copy-run --bucket media --prefix 2023/ --to archive/media-2023/ --acl private --storage-class STANDARD_IA', 's3jobs copy-run --bucket media --manifest s3://inventory/media/manifest.json --to media-backup --acl replicate-source'],
  flags: `Copy-run flags:
  --bucket NAME             the source bucket; manifest rows naming another are reported failed
  --prefix P | --manifest M the objects: a listing, or a manifest (see migrate-metadata --help)
  --to BUCKET[/PREFIX]      the destination
  --acl ACL                 ${wrapList([...CANNED_ACLS.object, 'replicate-source'], 28)}
  --storage-class C         the copies' storage class (default: the source's)
  --metadata NAME=VALUE     the copies' user metadata (repeat per entry), replacing the source's;
                            without any, each copy keeps its source's
  --mimetype TYPE           the copies' Content-Type (default: each source's)
  --header NAME=VALUE       a system header of the copies (repeat): cache-control,
                            content-disposition, content-encoding, content-language, expires
  --profile NAME            connection profile (default "default")`,
});

export const copyRunCommand: CliCommand = runCommandFor('copy', COPY_RUN_HELP, 'copy every object under a prefix or in a manifest to another bucket/prefix (a resumable bulk run)');
