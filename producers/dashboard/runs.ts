/**
 * The migration runs the dashboard lists, behind one small interface so the page does not care
 * where runs come from.
 *
 * Contract of `listRuns`: the newest runs first, at most `limit`; an empty array when the queue
 * has no runs (nothing has created one yet) — never an error for "none".
 *
 * A summary leaves out a run's `spec` and listing cursor: the page shows progress, not the
 * command that defined the run.
 */
import type { RunInfo, RunStore } from '../../shared/runs/run-store.js';

export type MigrationRunSummary = Omit<RunInfo, 'spec' | 'cursor' | 'nextPage'>;

export interface MigrationRunSource {
  listRuns(limit: number): Promise<MigrationRunSummary[]>;
}

/** Runs listed by no run source: for a dashboard that should show queues only. */
export const noMigrationRuns: MigrationRunSource = {
  listRuns: () => Promise.resolve([]),
};

/** The runs recorded in Redis by the run store of the dashboard's queue (`<prefix>:<queue>:runs`). */
export function runStoreSource(store: Pick<RunStore, 'list'>): MigrationRunSource {
  return {
    async listRuns(limit) {
      const runs = await store.list(limit);
      return runs.map(({ spec: _spec, cursor: _cursor, nextPage: _nextPage, ...summary }) => summary);
    },
  };
}
