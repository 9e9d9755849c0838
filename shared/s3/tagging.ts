/**
 * Object tags: S3's limits, checked before anything reaches Redis or S3, and the merge of a tag
 * change into an object's current tags. Pure.
 *
 * S3's rules (PutObjectTagging, "Tagging best practices"): at most 10 tags per object; a key is 1-128
 * Unicode characters, a value 0-256; keys are case-sensitive and unique within an object; the
 * characters allowed are letters, digits and white space of any script, and `+ - = . _ : / @`; the
 * `aws:` key prefix is reserved for AWS. Lengths count Unicode code points, not UTF-16 units: an
 * emoji is one character to S3 (and is refused anyway: it is not a letter).
 */
import { ValidationError } from '../errors.js';

/** An object's tags, key → value. */
export type Tags = Record<string, string>;

export const MAX_TAGS = 10;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;

/** Letters, digits and spaces of any script, and + - = . _ : / @. */
const TAG_CHARS = /^[\p{L}\p{M}\p{N}\p{Zs}+\-=._:/@]*$/u;
const ALLOWED = 'letters, digits, spaces and + - = . _ : / @';

/** Unicode characters (code points) in `text`, as S3 counts them. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The first character of `text` outside S3's tag alphabet, described (`"!" (U+0021)`), or undefined. */
function badChar(text: string): string | undefined {
  if (TAG_CHARS.test(text)) return undefined;
  for (const ch of text) {
    if (!TAG_CHARS.test(ch)) return `${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  }
  return undefined;
}

/** Checks one tag key; ValidationError naming `field`. */
export function assertTagKey(key: string, field: string): void {
  const n = charCount(key);
  if (n < 1 || n > MAX_TAG_KEY_CHARS) throw new ValidationError(field, `a tag key must be 1-${MAX_TAG_KEY_CHARS} characters; ${JSON.stringify(key.slice(0, 40))}${n > 40 ? '…' : ''} has ${n}`);
  const bad = badChar(key);
  if (bad !== undefined) throw new ValidationError(field, `tag key ${JSON.stringify(key)} contains ${bad}; allowed: ${ALLOWED}`);
  if (key.toLowerCase().startsWith('aws:')) throw new ValidationError(field, `tag key ${JSON.stringify(key)} starts with "aws:", which S3 reserves for AWS`);
}

/** Checks one tag value; ValidationError naming `field`. */
export function assertTagValue(value: string, field: string): void {
  const n = charCount(value);
  if (n > MAX_TAG_VALUE_CHARS) throw new ValidationError(field, `a tag value must be at most ${MAX_TAG_VALUE_CHARS} characters; this one has ${n}`);
  const bad = badChar(value);
  if (bad !== undefined) throw new ValidationError(field, `tag value ${JSON.stringify(value)} contains ${bad}; allowed: ${ALLOWED}`);
}

/**
 * Checks a whole tag set: each key and value, and at most MAX_TAGS of them. `field` names the set
 * (`tags`); an entry is named `tags.<key>`.
 */
export function assertTags(tags: unknown, field = 'tags'): asserts tags is Tags {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) throw new ValidationError(field, 'must be an object of tag key → value');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw new ValidationError(field, `an object has at most ${MAX_TAGS} tags; ${entries.length} given`);
  for (const [key, value] of entries) {
    assertTagKey(key, `${field}.${key}`);
    if (typeof value !== 'string') throw new ValidationError(`${field}.${key}`, 'a tag value must be a string');
    assertTagValue(value, `${field}.${key}`);
  }
}

/**
 * `key=value` pairs (a command line's repeated `--tag`) into tags: a key given twice is refused
 * (S3 refuses duplicate keys), so is a pair without `=`. `value` may be empty (`key=`).
 */
export function tagsFromPairs(pairs: readonly string[], field: string): Tags {
  const tags: Tags = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new ValidationError(field, `${JSON.stringify(pair)} is not KEY=VALUE`);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(tags, key)) throw new ValidationError(field, `tag key ${JSON.stringify(key)} is given twice; S3 allows each key once per object`);
    tags[key] = pair.slice(eq + 1);
  }
  assertTags(tags, field);
  return tags;
}

/**
 * The tags an object ends with: `replace` → `tags` alone; `merge` → its current tags with `tags`
 * set over them and `remove` taken out. ValidationError (field `tags`) when the result would have
 * more than MAX_TAGS.
 */
export function mergeTags(current: Tags, change: { mode: 'replace' | 'merge'; tags: Tags; remove?: readonly string[] | undefined }): Tags {
  const next: Tags = change.mode === 'replace' ? { ...change.tags } : { ...current, ...change.tags };
  for (const key of change.remove ?? []) delete next[key];
  const n = Object.keys(next).length;
  if (n > MAX_TAGS) {
    throw new ValidationError('tags', `the object would have ${n} tags (${Object.keys(current).length} now, merged with ${Object.keys(change.tags).length}); S3 allows at most ${MAX_TAGS}: remove some, or replace them`);
  }
  return next;
}

/** Same keys and values, whatever their order. */
export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}
