/**
 * Prometheus metrics of one worker process. Names follow Prometheus conventions (`_total`
 * counters, `_seconds` histograms); labels are low-cardinality on purpose: job kind, outcome,
 * HTTP method and status — never bucket names or keys.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestObservation } from '../shared/s3/request.js';

export type JobOutcome = 'completed' | 'retried' | 'dead_lettered';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #jobs: Counter<'kind' | 'outcome'>;
  readonly #jobDuration: Histogram<'kind'>;
  readonly #bytes: Counter<'kind'>;
  readonly #unchanged: Counter<'kind'>;
  readonly #s3Requests: Counter<'method' | 'status'>;
  readonly #s3Duration: Histogram<'method'>;
  readonly #breakerState: Gauge<'endpoint'>;
  readonly #breakerOpens: Counter<'endpoint'>;
  readonly #breakerOpenSeconds: Counter<'endpoint'>;
  readonly #breakerDeferred: Counter<'endpoint'>;

  /** `queueCounts` is read at each scrape for the queue-depth gauge. */
  constructor(queueCounts: () => Promise<Record<string, number>>) {
    collectDefaultMetrics({ register: this.registry, prefix: 's3jobs_process_' });
    this.#jobs = new Counter({ name: 's3jobs_jobs_total', help: 'Job attempts by kind and outcome (completed, retried, dead_lettered).', labelNames: ['kind', 'outcome'], registers: [this.registry] });
    this.#jobDuration = new Histogram({
      name: 's3jobs_job_duration_seconds',
      help: 'Duration of successful job attempts.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [this.registry],
    });
    this.#bytes = new Counter({ name: 's3jobs_bytes_copied_total', help: 'Bytes copied by completed copy jobs and copy batches.', labelNames: ['kind'], registers: [this.registry] });
    this.#unchanged = new Counter({ name: 's3jobs_jobs_unchanged_total', help: 'Completed jobs that had nothing to change (rewrites already applied, buckets already there).', labelNames: ['kind'], registers: [this.registry] });
    this.#s3Requests = new Counter({ name: 's3jobs_s3_requests_total', help: 'S3 requests by method and HTTP status ("none" when no answer came).', labelNames: ['method', 'status'], registers: [this.registry] });
    this.#s3Duration = new Histogram({
      name: 's3jobs_s3_request_duration_seconds',
      help: 'S3 request duration (until the answer, or the failure).',
      labelNames: ['method'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers: [this.registry],
    });
    // Per S3 endpoint (a handful per worker, not per bucket or key): the circuit breakers.
    this.#breakerState = new Gauge({ name: 's3jobs_s3_breaker_state', help: 'Circuit breaker of an S3 endpoint: 1 open (its jobs are held back), 0 closed.', labelNames: ['endpoint'], registers: [this.registry] });
    this.#breakerOpens = new Counter({ name: 's3jobs_s3_breaker_opens_total', help: 'Times the circuit breaker of an S3 endpoint opened (the store stopped answering).', labelNames: ['endpoint'], registers: [this.registry] });
    this.#breakerOpenSeconds = new Counter({ name: 's3jobs_s3_breaker_open_seconds_total', help: 'Seconds the circuit breaker of an S3 endpoint was open (counted when it closes).', labelNames: ['endpoint'], registers: [this.registry] });
    this.#breakerDeferred = new Counter({ name: 's3jobs_s3_breaker_deferred_jobs_total', help: 'Jobs put back without using an attempt because their S3 endpoint was unavailable.', labelNames: ['endpoint'], registers: [this.registry] });
    new Gauge({
      name: 's3jobs_queue_jobs',
      help: 'Jobs in the queue by state, read at scrape time (dead_lettered is the dead-letter queue).',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        try {
          const counts = await queueCounts();
          for (const [state, n] of Object.entries(counts)) this.set({ state: state.replace(/-/g, '_') }, n);
        } catch {
          // Redis unreachable during a scrape: keep the last values; /readyz says the rest.
        }
      },
    });
  }

  jobFinished(kind: string, outcome: JobOutcome): void {
    this.#jobs.inc({ kind, outcome });
  }

  jobCompleted(kind: string, result: { durationMs?: number; bytes?: number; changed?: boolean }): void {
    this.#jobs.inc({ kind, outcome: 'completed' });
    if (typeof result.durationMs === 'number') this.#jobDuration.observe({ kind }, result.durationMs / 1000);
    if ((kind === 'copy' || kind === 'copy-batch') && typeof result.bytes === 'number') this.#bytes.inc({ kind }, result.bytes);
    if (result.changed === false) this.#unchanged.inc({ kind });
  }

  s3Request(info: RequestObservation): void {
    this.#s3Requests.inc({ method: info.method, status: info.status === undefined ? 'none' : String(info.status) });
    this.#s3Duration.observe({ method: info.method }, info.durationMs / 1000);
  }

  breakerOpened(endpoint: string): void {
    this.#breakerState.set({ endpoint }, 1);
    this.#breakerOpens.inc({ endpoint });
  }

  breakerClosed(endpoint: string, openMs: number): void {
    this.#breakerState.set({ endpoint }, 0);
    this.#breakerOpenSeconds.inc({ endpoint }, openMs / 1000);
  }

  jobDeferred(endpoint: string): void {
    this.#breakerDeferred.inc({ endpoint });
  }
}
