/** S3's tag limits, checked before Redis and S3, and the merge of a tag change. */
import { describe, expect, it } from 'vitest';
import { assertTags, charCount, mergeTags, sameTags, tagsFromPairs } from '../../../shared/s3/tagging.js';
import { buildTagging, parseTagging } from '../../../shared/s3/xml.js';

describe('tag limits', () => {
  it('accepts letters, digits and spaces of any script and + - = . _ : / @', () => {
    expect(() => assertTags({ 'Équipe 東京': 'média + x=y.z_a:b/c@d', k: '' })).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['11 tags', Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])), 'tags', /at most 10 tags; 11 given/],
    ['an empty key', { '': 'v' }, 'tags.', /1-128 characters/],
    ['a key of 129 characters', { ['k'.repeat(129)]: 'v' }, `tags.${'k'.repeat(129)}`, /has 129/],
    ['a value of 257 characters', { k: 'v'.repeat(257) }, 'tags.k', /at most 256 characters; this one has 257/],
    ['a key with "!"', { 'a!': 'v' }, 'tags.a!', /"!" \(U\+0021\); allowed: letters, digits, spaces and \+ - = \. _ : \/ @/],
    ['a value with an emoji', { k: 'ok 🙂' }, 'tags.k', /U\+1F642/],
    ['the aws: prefix', { 'AWS:x': 'v' }, 'tags.AWS:x', /reserves for AWS/],
    ['a value that is not a string', { k: 3 }, 'tags.k', /must be a string/],
  ])('refuses %s, naming the field', (_what, tags, field, message) => {
    expect(() => assertTags(tags)).toThrow(expect.objectContaining({ field, message: expect.stringMatching(message) }));
  });

  it('counts Unicode characters, not UTF-16 units', () => {
    expect(charCount('日本')).toBe(2);
    expect(charCount('𝒜')).toBe(1);
    expect(() => assertTags({ k: 'é'.repeat(256) })).not.toThrow();
  });

  it('reads KEY=VALUE pairs, refusing a key given twice', () => {
    expect(tagsFromPairs(['a=1', 'b=', 'c=x=y'], '--tag')).toEqual({ a: '1', b: '', c: 'x=y' });
    expect(() => tagsFromPairs(['a=1', 'a=2'], '--tag')).toThrow(expect.objectContaining({ field: '--tag', message: expect.stringContaining('given twice') }));
    expect(() => tagsFromPairs(['nope'], '--tag')).toThrow(/is not KEY=VALUE/);
  });
});

describe('merging tags', () => {
  it('replace takes the new set alone; merge sets over the current and removes', () => {
    expect(mergeTags({ a: '1', b: '2' }, { mode: 'replace', tags: { c: '3' } })).toEqual({ c: '3' });
    expect(mergeTags({ a: '1', b: '2' }, { mode: 'merge', tags: { b: 'x', c: '3' }, remove: ['a'] })).toEqual({ b: 'x', c: '3' });
  });

  it('a merge past 10 tags is refused with the counts', () => {
    const current = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
    expect(() => mergeTags(current, { mode: 'merge', tags: { x: '1', y: '2' } })).toThrow(/would have 11 tags \(9 now, merged with 2\)/);
  });

  it('compares sets whatever the order', () => {
    expect(sameTags({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameTags({ a: '1' }, { a: '2' })).toBe(false);
    expect(sameTags({ a: '1' }, { a: '1', b: '' })).toBe(false);
  });
});

describe('tagging XML', () => {
  it('round-trips a tag set with characters XML must escape', () => {
    const tags = { 'a&b': '<x>', plain: '' };
    expect(parseTagging(buildTagging(tags))).toEqual(tags);
    expect(parseTagging('<Tagging><TagSet/></Tagging>')).toEqual({});
    expect(parseTagging('<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>')).toEqual({ k: 'v' });
  });
});
