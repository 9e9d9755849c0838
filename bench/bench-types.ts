import type { MachineInfo } from './harness.js';

/** What `bench/run.ts` hands every benchmark. */
export interface BenchContext {
  machine: MachineInfo;
  /** `--quick`: much less work, for checking that the benchmark runs; figures are not for publishing. */
  quick: boolean;
  /** Progress lines go here (stderr), never into the report. */
  log(line: string): void;
}

export interface BenchOutcome {
  /** The Markdown that goes between this benchmark's markers in BENCHMARKS.md. */
  markdown: string;
  /** Everything measured, written to bench/results/<name>-<time>.json. */
  data: unknown;
  /**
   * Set when the benchmark could not measure (a store it needs is not available), with the reason:
   * its section of BENCHMARKS.md keeps the figures it already holds, and `markdown` is written only
   * where there is no section yet.
   */
  skipped?: string | undefined;
}

/** A `bench/<name>.bench.ts` module exports one of these as `benchmark`. */
export interface Benchmark {
  /** Also the marker name in BENCHMARKS.md and the CLI argument. */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}
