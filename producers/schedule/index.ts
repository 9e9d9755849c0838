/** Schedules: jobs that fire every interval or on a cron pattern, kept in Redis by BullMQ. */
export {
  addSchedule,
  getSchedule,
  listSchedules,
  removeSchedule,
  checkRepeat,
  assertScheduleName,
  assertTimeZone,
  ScheduleExistsError,
  type Repeat,
  type ScheduleInfo,
  type ScheduleOptions,
  type ScheduleTarget,
} from './schedules.js';
export { parseDuration, formatDuration, MIN_EVERY_MS, MAX_EVERY_MS } from './duration.js';
