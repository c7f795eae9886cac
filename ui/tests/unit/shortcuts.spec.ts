import { describe, expect, it } from 'vitest';
import { decide, isField, type KeyPress } from '@/composables/shortcuts';

const key = (k: string, over: Partial<KeyPress> = {}): KeyPress => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  inField: false,
  ...over,
});

describe('keyboard shortcuts', () => {
  it('single keys: n, /, ?', () => {
    expect(decide(key('n'), false).action).toBe('new-entry');
    expect(decide(key('/'), false).action).toBe('search');
    expect(decide(key('?'), false).action).toBe('help');
    expect(decide(key('x'), false).action).toBeUndefined();
  });

  it('g then d, w or r goes to a page; anything else ends the sequence', () => {
    const g = decide(key('g'), false);
    expect(g).toEqual({ afterG: true });
    expect(decide(key('d'), g.afterG).action).toBe('go-dashboard');
    expect(decide(key('w'), true).action).toBe('go-worklogs');
    expect(decide(key('r'), true).action).toBe('go-reports');
    expect(decide(key('x'), true)).toEqual({ action: undefined, afterG: false });
    // Without the g, d is nothing.
    expect(decide(key('d'), false).action).toBeUndefined();
  });

  it('single keys do nothing while typing; Ctrl/⌘ combinations work everywhere', () => {
    expect(decide(key('n', { inField: true }), false).action).toBeUndefined();
    expect(decide(key('d', { inField: true }), true).action).toBeUndefined();
    expect(decide(key('Enter', { ctrlKey: true, inField: true }), false).action).toBe('save');
    expect(decide(key('Enter', { metaKey: true }), false).action).toBe('save');
    expect(decide(key('k', { ctrlKey: true, inField: true }), false).action).toBe('palette');
    expect(decide(key('K', { metaKey: true }), false).action).toBe('palette');
    // Other modified keys belong to the browser.
    expect(decide(key('n', { ctrlKey: true }), false).action).toBeUndefined();
    expect(decide(key('k', { ctrlKey: true, altKey: true }), false).action).toBeUndefined();
    expect(decide(key('Enter'), false).action).toBeUndefined();
  });

  it('knows which elements take typing', () => {
    const el = (html: string) => {
      const d = document.createElement('div');
      d.innerHTML = html;
      return d.firstElementChild;
    };
    expect(isField(el('<input type="text">'))).toBe(true);
    expect(isField(el('<input type="search">'))).toBe(true);
    expect(isField(el('<textarea></textarea>'))).toBe(true);
    expect(isField(el('<select></select>'))).toBe(true);
    expect(isField(el('<input type="checkbox">'))).toBe(false);
    expect(isField(el('<button>x</button>'))).toBe(false);
    expect(isField(null)).toBe(false);
  });
});
