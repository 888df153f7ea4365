/** src/config/closest.ts: the edit distance behind "did you mean …?" and the environment near-miss checks. */
import { describe, expect, it } from '@jest/globals';
import { closest, editDistance } from '../src/config/closest.js';

describe('editDistance (Levenshtein)', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['prod', 'prod', 0],
    ['prodution', 'production', 1],
    ['dryrun', 'dry-run', 1],
    ['kitten', 'sitting', 3],
    ['staging', 'stagign', 2],
    ['prod', 'staging', 7],
  ])('%j → %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closest', () => {
  it('the nearest candidate after normalizing, the first of equally near ones', () => {
    expect(closest('Prodution', ['staging', 'production'], (s) => s.toLowerCase())).toEqual({ name: 'production', distance: 1 });
    expect(closest('ab', ['ax', 'ay'])).toEqual({ name: 'ax', distance: 1 });
    expect(closest('max_age_days', ['max-age-days'], (s) => s.replace(/_/g, '-'))).toEqual({ name: 'max-age-days', distance: 0 });
  });

  it('no candidates: undefined', () => {
    expect(closest('x', [])).toBeUndefined();
  });
});
