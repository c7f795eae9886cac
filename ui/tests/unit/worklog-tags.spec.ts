import { describe, expect, it } from 'vitest';
import { MAX_TAGS, normaliseTag, normaliseTags, splitTagInput } from '@/components/worklog/tags';

describe('normaliseTag', () => {
  it('trims, strips leading #, lower-cases and joins inner whitespace with -', () => {
    expect(normaliseTag('  #Rust ')).toEqual({ ok: true, tag: 'rust' });
    expect(normaliseTag('# #Machine   Learning')).toEqual({ ok: true, tag: 'machine-learning' });
    expect(normaliseTag('C#')).toEqual({ ok: true, tag: 'c#' });
    expect(normaliseTag('Ünïcode')).toEqual({ ok: true, tag: 'ünïcode' });
  });
  it('drops empty tags', () => {
    expect(normaliseTag('   ')).toEqual({ ok: true, tag: null });
    expect(normaliseTag('#')).toEqual({ ok: true, tag: null });
  });
  it('refuses ASCII punctuation and invisible characters', () => {
    expect(normaliseTag('a/b').ok).toBe(false);
    expect(normaliseTag('say"hi"').ok).toBe(false);
    expect(normaliseTag('zero\u200bwidth').ok).toBe(false);
  });
  it('accepts 40 characters and refuses 41', () => {
    expect(normaliseTag('a'.repeat(40))).toEqual({ ok: true, tag: 'a'.repeat(40) });
    const r = normaliseTag('a'.repeat(41));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('41 characters');
  });
  it('counts characters, not UTF-16 units', () => {
    expect(normaliseTag('😀'.repeat(40)).ok).toBe(true);
  });
});

describe('normaliseTags', () => {
  it('de-duplicates after normalisation, keeping the first order', () => {
    expect(normaliseTags(['Rust', 'go', '#rust', ' GO ', 'vue'])).toEqual({ tags: ['rust', 'go', 'vue'], errors: [] });
  });
  it('reports more than 20 distinct tags', () => {
    const many = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`);
    const r = normaliseTags(many);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toContain('at most 20');
    expect(normaliseTags([...many.slice(0, 20), 'T0']).errors).toEqual([]);
  });
  it('collects every error', () => {
    expect(normaliseTags(['ok', 'b/d', 'x'.repeat(41)]).errors).toHaveLength(2);
  });
});

describe('splitTagInput', () => {
  it('splits on commas and semicolons', () => {
    expect(splitTagInput('a, b;c,, ')).toEqual(['a', 'b', 'c']);
  });
});
