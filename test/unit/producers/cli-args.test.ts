import { describe, expect, it } from 'vitest';
import { ErrorCodes, S3JobsError, ValidationError } from '../../../shared/errors.js';
import {
  DEFAULT_WAIT_TIMEOUT_MS,
  enqueueOptionsFrom,
  ENQUEUE_OPTIONS,
  GLOBAL_OPTIONS,
  globalsFrom,
  parseCommandLine,
  parseInteger,
  parseMetadataPairs,
  parseObjectRef,
  parsePairs,
} from '../../../producers/cli/args.js';
import { ExitCode, exitCodeFor, RedisUnavailableError, UsageError } from '../../../producers/cli/exit-codes.js';
import { expectUsage } from './expect-usage.js';
import { JobFailedError } from '../../../producers/producer.js';
import { DeadLetterNotFoundError, InvalidDeadLetterPayloadError } from '../../../producers/dead-letters.js';

describe('parseCommandLine', () => {
  const options = { ...GLOBAL_OPTIONS, ...ENQUEUE_OPTIONS };
  const run = (argv: string[], names = ['<a>']) => parseCommandLine('demo', argv, options, { names });

  it('returns values and positionals', () => {
    const { values, positionals } = run(['x', '--priority', '3', '--wait', '--queue=q']);
    expect(positionals).toEqual(['x']);
    expect(values).toMatchObject({ priority: '3', wait: true, queue: 'q' });
  });

  it('skips positional checks when --help is given', () => {
    expect(run(['--help'], ['<a>', '<b>']).values.help).toBe(true);
    expect(run(['-h']).values.help).toBe(true);
  });

  it.each([
    [['x', '--nope'], '--nope', /unknown flag for 'demo'; known: .*--priority.*see 's3jobs demo --help'/],
    [['x', '--priority'], '--priority', /needs a value/],
    [['x', '--priority', '-1'], '--priority', /needs a value; for a value starting with "-" write --priority=VALUE/],
    [['x', '--wait=yes'], '--wait', /is a switch and takes no value/],
    [[], '<a>', /is missing; usage: s3jobs demo <a>/],
    [['x', 'y'], '"y"', /unexpected argument; 'demo' takes <a>/],
  ])('%j → UsageError naming %s', (argv, flag, message) => {
    expectUsage(() => run(argv), flag, message);
  });
});

describe('parsePairs', () => {
  it.each([
    [['a=1'], { a: '1' }],
    [['a=1', 'b=2'], { a: '1', b: '2' }],
    [['a=x=y'], { a: 'x=y' }],
    [['a='], { a: '' }],
    [[' a =v'], { a: 'v' }],
  ])('%j → %j', (raw, expected) => {
    expect(parsePairs(raw, '--metadata')).toEqual(expected);
  });

  it('is undefined when the flag is absent', () => {
    expect(parsePairs([], '--metadata')).toBeUndefined();
  });

  it.each([
    [['novalue'], /"novalue" is not name=value \(write --header name=value/],
    [['=v'], /has an empty name/],
    [['a=1', 'a=2'], /"a" is given twice/],
  ])('%j is refused naming the flag', (raw, message) => {
    expectUsage(() => parsePairs(raw, '--header'), '--header', message);
  });
});

describe('parseMetadataPairs', () => {
  it('keeps the pairs as given', () => {
    expect(parseMetadataPairs(['Owner=alice'], '--set')).toEqual({ Owner: 'alice' });
  });

  it.each([
    [['bad name=1'], '--set "bad name"', /not a valid metadata name/],
    [['x-amz-meta-a=1'], '--set "x-amz-meta-a"', /without the "x-amz-meta-" prefix/],
    [['A=1', 'a=2'], '--set', /differ only by case/],
    [['a=bell\u0007'], '--set "a"', /control character U\+0007/],
  ])('%j → error naming %s', (raw, flag, message) => {
    expectUsage(() => parseMetadataPairs(raw, '--set'), flag, message);
  });
});

describe('parseObjectRef', () => {
  it.each([
    ['bucket/key', { bucket: 'bucket', key: 'key' }],
    ['bucket/a/b/c.txt', { bucket: 'bucket', key: 'a/b/c.txt' }],
    ['/bucket/key', { bucket: 'bucket', key: 'key' }],
  ])('%s', (raw, expected) => {
    expect(parseObjectRef(raw, '<src>')).toEqual(expected);
  });

  it.each([
    ['nokey', '<src>', /has no "\/"/],
    ['B!/key', '<src> bucket', /bucket names/],
    ['bucket/', '<src> key', /./],
  ])('%s → error naming %s', (raw, flag, message) => {
    expectUsage(() => parseObjectRef(raw, '<src>'), flag, message);
  });
});

describe('parseInteger', () => {
  it.each([
    ['5', 5],
    [' 30_000 ', 30000],
    ['0', 0],
  ])('%j → %d', (raw, expected) => {
    expect(parseInteger(raw, '--n', 0, 100_000)).toBe(expected);
  });

  it.each(['abc', '1.5', '', '1e3', '-1', '100001', '0x10'])('%j is refused with the range', (raw) => {
    expectUsage(() => parseInteger(raw, '--n', 0, 100_000), '--n', /is not allowed; give an integer from 0 to 100000/);
  });
});

describe('enqueueOptionsFrom', () => {
  const parse = (argv: string[]) => enqueueOptionsFrom(parseCommandLine('x', argv, ENQUEUE_OPTIONS, { names: [] }).values);

  it('leaves out what was not given', () => {
    expect(parse([])).toEqual({ options: {}, wait: undefined });
  });

  it('maps every flag', () => {
    expect(parse(['--job-id', 'job-1', '--priority', '2', '--delay-ms', '1000', '--attempts', '3', '--timeout-ms', '60000', '--wait', '--wait-timeout-ms', '500'])).toEqual({
      options: { jobId: 'job-1', priority: 2, delayMs: 1000, attempts: 3, timeoutMs: 60000 },
      wait: { timeoutMs: 500 },
    });
  });

  it('"none" disables the job deadline; --wait has a default timeout', () => {
    expect(parse(['--timeout-ms', 'none', '--wait'])).toEqual({ options: { timeoutMs: null }, wait: { timeoutMs: DEFAULT_WAIT_TIMEOUT_MS } });
  });

  it.each([
    [['--priority', '0'], '--priority', /from 1 to 2097152/],
    [['--priority', 'high'], '--priority', /"high" is not allowed/],
    [['--attempts', '101'], '--attempts', /from 1 to 100/],
    [['--delay-ms=-5'], '--delay-ms', /from 0/],
    [['--timeout-ms', 'forever'], '--timeout-ms', /"forever"/],
    [['--job-id', '123'], '--job-id', /not only digits/],
    [['--job-id', 'a:b'], '--job-id', /"a:b" is not allowed/],
    [['--wait-timeout-ms', '5'], '--wait-timeout-ms', /only makes sense with --wait/],
  ])('%j → error naming %s', (argv, flag, message) => {
    expectUsage(() => parse(argv), flag, message);
  });
});

describe('globalsFrom', () => {
  it('turns the global flags into config overrides', () => {
    const { values } = parseCommandLine('x', ['--redis-url', 'redis://h:1', '--queue', 'q', '--prefix', 'p', '--json'], GLOBAL_OPTIONS, { names: [] });
    expect(globalsFrom(values)).toEqual({ overrides: { redisUrl: 'redis://h:1', queue: 'q', prefix: 'p' }, json: true });
  });
});

describe('exitCodeFor', () => {
  const withCode = (code: string, name = 'Error') => Object.assign(new Error('x'), { code, name });
  it.each([
    ['usage error', new UsageError('--x', 'bad'), ExitCode.Usage],
    ['validation error', new ValidationError('acl', 'bad'), ExitCode.Usage],
    ['invalid config (by code)', new S3JobsError(ErrorCodes.InvalidConfig, 'bad'), ExitCode.Usage],
    ['invalid dead-letter payload', new InvalidDeadLetterPayloadError('j', 'acl', 'bad'), ExitCode.Usage],
    ['a copy of ValidationError from another module (by name)', Object.assign(new Error('x'), { name: 'ValidationError' }), ExitCode.Usage],
    ['job not found', new S3JobsError('S3JOBS_JOB_NOT_FOUND', 'no job'), ExitCode.NotFound],
    ['dead letter not found', new DeadLetterNotFoundError('j', 'q-dead'), ExitCode.NotFound],
    ['wait timeout', new S3JobsError(ErrorCodes.Timeout, 'did not finish'), ExitCode.WaitTimeout],
    ['job failed', new JobFailedError('j', 'NoSuchKey', 'gone'), ExitCode.Failed],
    ['redis unavailable', new RedisUnavailableError('down'), ExitCode.RedisUnavailable],
    ['ioredis gave up', Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }), ExitCode.RedisUnavailable],
    ['socket refused (code)', withCode('ECONNREFUSED'), ExitCode.RedisUnavailable],
    ['socket refused (message)', new Error('connect ECONNREFUSED 127.0.0.1:6399'), ExitCode.RedisUnavailable],
    ['anything else', new Error('boom'), ExitCode.Failed],
    ['not an error', 'boom', ExitCode.Failed],
  ])('%s → %d', (_name, err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });
});
