/**
 * Schedules: a job that fires again and again (`every` an interval, or on a `cron` pattern), kept
 * by BullMQ's job schedulers in Redis — so a schedule survives any producer or worker restart,
 * and whichever worker is running fires it.
 *
 * ```ts
 * const producer = new S3JobsProducer({ config });
 * await addSchedule(producer, 'nightly-backup', { cron: '0 3 * * *', tz: 'Europe/Paris' }, {
 *   kind: 'sync', profile: 'default', acl: 'private',
 *   source: { bucket: 'photos', prefix: '' }, destination: { bucket: 'photos-backup', prefix: '' },
 * });
 * ```
 *
 * How firing works (BullMQ 6): the scheduler keeps one delayed job for its next firing, id
 * `repeat:<name>:<time>`. When a worker takes that job, BullMQ adds the next one. So firings
 * happen only while some worker runs; a firing missed meanwhile runs once when a worker is back,
 * not once per missed interval. `every` fires at once when the schedule is added, then every
 * interval; `cron` fires at the next matching time.
 *
 * Each fired job carries the template stored here: the payload, validated now with the same
 * schemas as any job, and the producer's job options (attempts, backoff, retention), so it
 * retries and is dead-lettered like any other job.
 */
import { getNextMillis, type JobSchedulerJson, type JobsOptions, type Queue } from 'bullmq';
import { ValidationError } from '../../shared/errors.js';
import { validateJob, type JobKind, type JobPayload } from '../../shared/jobs/index.js';
import { MAX_EVERY_MS, MIN_EVERY_MS } from './duration.js';

/** When a schedule fires: every `every` ms, or on a cron pattern (5 fields, or 6 with seconds first). */
export type Repeat = { every: number } | { cron: string; tz?: string | undefined };

/** What the schedule functions need: `S3JobsProducer` is one. */
export interface ScheduleTarget {
  readonly queue: Queue;
  /** The options every fired job starts from. */
  jobOptions(): JobsOptions;
}

export interface ScheduleOptions {
  /** Replace a schedule of the same name (its next firing is recomputed). Default false: refused. */
  replace?: boolean | undefined;
  /** Priority of every fired job, 1 (highest) .. 2,097,152. Default none. */
  priority?: number | undefined;
  /** Attempts of every fired job. Default the producer's (`config.retry.attempts`). */
  attempts?: number | undefined;
}

export interface ScheduleInfo {
  name: string;
  repeat: Repeat;
  /** When it fires next (ms since the epoch); undefined when no firing is pending. */
  next: number | undefined;
  /** Firings so far (counting the pending one). */
  iterations: number | undefined;
  /** The kind of job it fires. */
  kind: string | undefined;
  /** The payload of every fired job. */
  payload: unknown;
  /** Attempts and priority of every fired job. */
  attempts: number | undefined;
  priority: number | undefined;
}

/** The schedule a `name` is taken by. Not retryable. */
export class ScheduleExistsError extends ValidationError {
  override name = 'ScheduleExistsError';
  constructor(scheduleName: string) {
    super('name', `a schedule named "${scheduleName}" exists; remove it first or replace it`);
  }
}

/** Schedule names: they become part of job ids (`repeat:<name>:<time>`), so no ":". */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function assertScheduleName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new ValidationError(field, `${JSON.stringify(name)} is not a schedule name: 1-64 letters, digits, "_", "." or "-"`);
}

/** A time zone the runtime knows (IANA name, e.g. Europe/Paris). */
export function assertTimeZone(tz: string, field = 'tz'): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new ValidationError(field, `${JSON.stringify(tz)} is not a known time zone; give an IANA name such as Europe/Paris or UTC`);
  }
}

/**
 * Checks a repeat rule; returns when it would fire next after `now` (for `every`: now). Pure
 * but for the clock. Cron patterns are parsed by the same parser BullMQ fires them with.
 */
export function checkRepeat(repeat: Repeat, now = Date.now()): number {
  if ('every' in repeat) {
    if (!Number.isInteger(repeat.every) || repeat.every < MIN_EVERY_MS || repeat.every > MAX_EVERY_MS)
      throw new ValidationError('every', `must be a whole number of ms from ${MIN_EVERY_MS} (1s) to ${MAX_EVERY_MS} (366d)`);
    return now;
  }
  const fields = repeat.cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    throw new ValidationError('cron', `"${repeat.cron}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; write 5 (minute hour day-of-month month day-of-week, e.g. "0 3 * * *") or 6 with seconds first`);
  if (repeat.tz !== undefined) assertTimeZone(repeat.tz);
  let next: number | undefined;
  try {
    next = getNextMillis(now, { pattern: repeat.cron, ...(repeat.tz === undefined ? {} : { tz: repeat.tz }) });
  } catch (err) {
    throw new ValidationError('cron', `"${repeat.cron}" is not a cron pattern: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (next === undefined || !Number.isFinite(next)) throw new ValidationError('cron', `"${repeat.cron}" never fires`);
  return next;
}

function templateOptions(target: ScheduleTarget, options: ScheduleOptions): JobsOptions {
  const opts = target.jobOptions();
  if (options.priority !== undefined) {
    if (!Number.isInteger(options.priority) || options.priority < 1 || options.priority > 2_097_152) throw new ValidationError('priority', 'must be an integer from 1 (highest) to 2097152');
    opts.priority = options.priority;
  }
  if (options.attempts !== undefined) {
    if (!Number.isInteger(options.attempts) || options.attempts < 1 || options.attempts > 100) throw new ValidationError('attempts', 'must be an integer from 1 to 100');
    opts.attempts = options.attempts;
  }
  return opts;
}

function infoOf(json: JobSchedulerJson): ScheduleInfo {
  const repeat: Repeat = json.pattern !== undefined ? { cron: json.pattern, ...(json.tz === undefined ? {} : { tz: json.tz }) } : { every: json.every ?? 0 };
  const opts = json.template?.opts;
  return {
    name: json.key,
    repeat,
    next: json.next ?? undefined,
    iterations: json.iterationCount,
    kind: json.name,
    payload: json.template?.data,
    attempts: opts?.attempts,
    priority: opts?.priority,
  };
}

/**
 * Adds a schedule that fires `payload` as a job. The payload is validated first (a
 * ValidationError names the field); so are the name and the repeat rule. A name in use is refused
 * (ScheduleExistsError) unless `replace`.
 */
export async function addSchedule(target: ScheduleTarget, name: string, repeat: Repeat, payload: unknown, options: ScheduleOptions = {}): Promise<ScheduleInfo> {
  assertScheduleName(name);
  checkRepeat(repeat);
  const data: JobPayload = validateJob(payload);
  const opts = templateOptions(target, options);
  if (options.replace !== true && (await target.queue.getJobScheduler(name)) !== undefined) throw new ScheduleExistsError(name);
  const rule = 'every' in repeat ? { every: repeat.every } : { pattern: repeat.cron, ...(repeat.tz === undefined ? {} : { tz: repeat.tz }) };
  await target.queue.upsertJobScheduler(name, rule, { name: data.kind satisfies JobKind, data, opts });
  const stored = await getSchedule(target, name);
  if (stored === undefined) throw new Error(`schedule ${name} vanished right after it was added`);
  return stored;
}

/** One schedule, or undefined. */
export async function getSchedule(target: Pick<ScheduleTarget, 'queue'>, name: string): Promise<ScheduleInfo | undefined> {
  assertScheduleName(name);
  const json = await target.queue.getJobScheduler(name);
  return json === undefined ? undefined : infoOf(json);
}

/** Every schedule of the queue, soonest first. */
export async function listSchedules(target: Pick<ScheduleTarget, 'queue'>): Promise<ScheduleInfo[]> {
  const all = await target.queue.getJobSchedulers(0, -1, true);
  return all.map(infoOf);
}

/**
 * Removes a schedule and its pending firing, whether still delayed or already due and waiting for a
 * worker; returns false if there was no such schedule. A firing a worker has taken finishes.
 */
export async function removeSchedule(target: Pick<ScheduleTarget, 'queue'>, name: string): Promise<boolean> {
  assertScheduleName(name);
  const scheduler = await target.queue.getJobScheduler(name);
  const removed = await target.queue.removeJobScheduler(name);
  // BullMQ drops the pending firing only while it is delayed; a due one would still run.
  // `remove` leaves a job alone if a worker holds it.
  if (scheduler?.next !== undefined && scheduler.next !== null) await target.queue.remove(`repeat:${name}:${scheduler.next}`);
  return removed;
}
