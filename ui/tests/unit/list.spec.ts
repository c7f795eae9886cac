import { describe, expect, it } from 'vitest';
import { moveItem } from '@/utils/list';

describe('moveItem', () => {
  it('moves one place and stops at the ends', () => {
    const l = ['a', 'b', 'c'];
    moveItem(l, 0, 1);
    expect(l).toEqual(['b', 'a', 'c']);
    moveItem(l, 2, 1);
    moveItem(l, 0, -1);
    expect(l).toEqual(['b', 'a', 'c']);
  });
});
