/** What the client benchmark's orchestrator (`client.bench.ts`) and its child processes exchange. */

export type Side = 's3jobs' | 'aws-sdk';
export type ClientOp = 'head' | 'copy' | 'rewrite';

export interface ClientRunSpec {
  side: Side;
  op: ClientOp;
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Concurrency levels, run in this order. */
  levels: number[];
  /** Operations per timed round. */
  count: number;
  /** Timed rounds per level. */
  rounds: number;
  /** Untimed operations at the start of each level (connections opened, JIT warm). */
  warmup: number;
  /** Keys `<sourcePrefix>00000` … exist (at least `count`); HEAD and rewrite use them, copy reads them. */
  sourcePrefix: string;
  /** Copy destinations are `<destPrefix>c<concurrency>/r<round>/<n>`. */
  destPrefix: string;
  /** Keep-alive sockets per origin on both sides. */
  maxSockets: number;
  /** Whether to read one object back after the run and check what the operation did. */
  verify: boolean;
  /** The server's process id, to report how busy it was (Linux /proc); omitted when unknown. */
  serverPid?: number | undefined;
}

export interface LevelResult {
  concurrency: number;
  /** Wall time of each timed round, ms. */
  roundMs: number[];
  /** Client process CPU (user + system, all threads) per operation over the timed rounds, µs. */
  cpuUsPerOp: number;
  /** Client process CPU over wall time during the timed rounds, % of one core. */
  clientBusyPct: number;
  /** Server process CPU over wall time during the timed rounds, % of one core (undefined off Linux). */
  serverBusyPct: number | undefined;
  /** Peaks seen while this level ran. */
  peakRss: number;
  peakHeapUsed: number;
}

export interface ClientRunResult {
  side: Side;
  op: ClientOp;
  count: number;
  levels: LevelResult[];
  /** RSS and heap once modules are loaded, the client is built and one request made (lazy parts loaded). */
  rssAfterLoad: number;
  heapAfterLoad: number;
  /** OS high-water mark of RSS for the whole child. */
  maxRss: number;
}

/** The Content-Disposition the seeded objects carry; a rewrite must keep it. */
export const SEEDED_DISPOSITION = 'attachment; filename="photo.jpg"';

export const sourceKey = (prefix: string, i: number): string => `${prefix}${String(i).padStart(5, '0')}`;

/** One operation; `i` picks the key, `tag` makes destinations and metadata values unique per round. */
export type OpFn = (i: number, tag: string) => Promise<void>;

/** What each side's module builds from a spec. */
export interface Client {
  op(kind: ClientOp): OpFn;
  /** Reads back what the run did to one object and throws unless the operation did what it should. */
  verify(kind: ClientOp, lastTag: string): Promise<void>;
  close(): Promise<void>;
}
