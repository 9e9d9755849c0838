/**
 * `--wait` without `--wait-timeout-ms` waits this long (5 minutes). Its own file because the
 * top-level help prints it, and the help must load without the parsers (and zod behind them).
 */
export const DEFAULT_WAIT_TIMEOUT_MS = 300_000;
