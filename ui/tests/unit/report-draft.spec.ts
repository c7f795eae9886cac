import { describe, expect, it } from 'vitest';
import { authorOf, editBody, lineDiff, newBullet, toForm } from '@/views/reports/draft';

const draft = {
  title: 'Status',
  user_bullets: 0,
  sections: [{ heading: 'Highlights', bullets: [{ text: 'Shipped the export', citations: ['a'], by: 'model' as const }] }],
};

describe('report drafts', () => {
  it('edits a copy and sends every section and bullet with the version', () => {
    const form = toForm(draft);
    form.sections[0]!.bullets[0]!.citations.push('b');
    form.sections[0]!.bullets.push({ ...newBullet(), text: 'Mine' });
    expect(draft.sections[0]!.bullets[0]!.citations).toEqual(['a']);
    expect(editBody(form, 3)).toEqual({
      version: 3,
      title: 'Status',
      sections: [{ heading: 'Highlights', bullets: [{ text: 'Shipped the export', citations: ['a', 'b'] }, { text: 'Mine', citations: [] }] }],
    });
  });
  it("calls a bullet the user's once its text changes", () => {
    const b = toForm(draft).sections[0]!.bullets[0]!;
    expect(authorOf(b)).toBe('model');
    b.text = 'Shipped the CSV export';
    expect(authorOf(b)).toBe('user');
  });
  it('diffs lines', () => {
    expect(lineDiff('a\nb\nc', 'a\nc\nd')).toEqual([
      { op: 'same', text: 'a' },
      { op: 'removed', text: 'b' },
      { op: 'same', text: 'c' },
      { op: 'added', text: 'd' },
    ]);
  });
});
