/**
 * Intervals as people write them: `30s`, `15m`, `1h`, `1h30m`, `2d`. Pure.
 */
import { ValidationError } from '../../shared/errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ['d', 'h', 'm', 's'];

/** Shortest interval a schedule may have: one second. */
export const MIN_EVERY_MS = 1_000;
/** Longest: a year (use a cron pattern for anything rarer). */
export const MAX_EVERY_MS = 366 * UNIT_MS.d;

/**
 * `1h`, `30m`, `1h30m`, `45s`, `2d` into milliseconds: one or more `<integer><unit>` parts, units
 * d, h, m, s in that order, each at most once. Between `MIN_EVERY_MS` and `MAX_EVERY_MS`.
 * Throws a ValidationError naming `field`.
 */
export function parseDuration(text: string, field = 'every'): number {
  const raw = text.trim().toLowerCase();
  const parts = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
  if (raw === '' || parts === null)
    throw new ValidationError(field, `${JSON.stringify(text)} is not an interval; write a number and a unit (d, h, m, s), largest first: 30s, 15m, 1h, 1h30m, 2d`);
  let ms = 0;
  ORDER.forEach((unit, i) => {
    const n = parts[i + 1];
    if (n !== undefined) ms += Number(n) * UNIT_MS[unit];
  });
  if (!Number.isSafeInteger(ms) || ms < MIN_EVERY_MS || ms > MAX_EVERY_MS)
    throw new ValidationError(field, `${JSON.stringify(text)} is out of range; give from 1s to 366d`);
  return ms;
}

/** Milliseconds as the shortest `1h30m` form (`1500` → `1.5s`, for intervals not in whole seconds). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms);
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) return `${ms / 1000}s`;
  let rest = ms;
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out;
}
