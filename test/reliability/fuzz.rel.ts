/**
 * Fuzz runs over the job validator and the S3 XML parsers (with the error-answer reader and the
 * metadata decoder): seeded, mutated inputs for a bounded number of iterations, each run in a
 * child process watched for progress (`support/fuzz-child.ts`). Only a result or an s3jobs error
 * with a code may come out — never a TypeError, a RangeError, or a hang.
 *
 * RELIABILITY_SEED changes the inputs; RELIABILITY_FUZZ_ITERATIONS scales the runs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { report } from './support/report.js';

const CHILD = fileURLToPath(new URL('./support/fuzz-child.ts', import.meta.url));
const SEED = Number(process.env.RELIABILITY_SEED ?? 20_261_125);
const SCALE = Number(process.env.RELIABILITY_FUZZ_ITERATIONS ?? 1);
/** No progress line for this long means a hang (progress comes every 250 inputs, normally < 0.5 s). */
const STALL_MS = 10_000;

interface FuzzOutcome {
  done: { iterations: number; findings: number; outcomes: Record<string, number>; slowestMs: number; slowestInput: string; ms: number } | undefined;
  findings: { target: string; error: string; stack: string; input: string }[];
  hang: string | undefined;
  stderr: string;
}

function fuzz(target: 'validator' | 'xml', iterations: number): Promise<FuzzOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, target, String(SEED), String(iterations)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: FuzzOutcome = { done: undefined, findings: [], hang: undefined, stderr: '' };
    let last = '(no input yet)';
    let rest = '';
    let watchdog = setTimeout(onStall, STALL_MS);
    function onStall(): void {
      out.hang = `no progress for ${STALL_MS} ms; last input batch began with: ${last}`;
      child.kill('SIGKILL');
    }
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const msg = JSON.parse(line) as { progress?: number; last?: string; finding?: FuzzOutcome['findings'][number]; done?: FuzzOutcome['done'] };
        if (msg.progress !== undefined) {
          last = msg.last ?? '';
          clearTimeout(watchdog);
          watchdog = setTimeout(onStall, STALL_MS);
        }
        if (msg.finding !== undefined) out.findings.push(msg.finding);
        if (msg.done !== undefined) out.done = msg.done;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
    child.on('exit', () => {
      clearTimeout(watchdog);
      resolve(out);
    });
  });
}

describe('fuzz', () => {
  it('the job validator: only ValidationErrors come out of mutated payloads', async () => {
    const iterations = Math.round(30_000 * SCALE);
    const result = await fuzz('validator', iterations);
    expect(result.hang).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.findings).toEqual([]);
    expect(result.done?.iterations).toBe(iterations);
    // The mutations must reach both outcomes, or they test nothing.
    expect(result.done!.outcomes.ok).toBeGreaterThan(iterations / 50);
    expect(result.done!.outcomes['ValidationError:S3JOBS_INVALID_JOB']).toBeGreaterThan(iterations / 2);
    report('fuzz-validator', { seed: SEED, ...result.done });
  });

  it('the XML parsers, error answers and metadata decoding: only s3jobs errors with codes come out of mutated S3 answers', async () => {
    const iterations = Math.round(12_000 * SCALE);
    const result = await fuzz('xml', iterations);
    expect(result.hang).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.findings).toEqual([]);
    expect(result.done?.iterations).toBe(iterations);
    expect(result.done!.outcomes['S3JobsError:S3JOBS_BAD_RESPONSE']).toBeGreaterThan(iterations / 10);
    // No single input may take long: a parser that is quadratic on some shape would show here.
    expect(result.done!.slowestMs).toBeLessThan(2_000);
    report('fuzz-xml', { seed: SEED, ...result.done });
  });
});
