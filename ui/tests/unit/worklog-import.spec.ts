import { describe, expect, it } from 'vitest';
import { guessFormat, guessFormatFromName, guessFormatFromText } from '@/components/worklog/importFormat';

describe('import format guessing', () => {
  it('uses the file extension', () => {
    expect(guessFormatFromName('log.json')).toBe('json');
    expect(guessFormatFromName('Log.CSV')).toBe('csv');
    expect(guessFormatFromName('notes.md')).toBe('markdown');
    expect(guessFormatFromName('notes.markdown')).toBe('markdown');
    expect(guessFormatFromName('archive.tar.gz')).toBeNull();
    expect(guessFormatFromName('README')).toBeNull();
    expect(guessFormatFromName(undefined)).toBeNull();
  });
  it('looks at pasted text', () => {
    expect(guessFormatFromText('\uFEFF  [{"content":"x"}]')).toBe('json');
    expect(guessFormatFromText('{"entries": []}')).toBe('json');
    expect(guessFormatFromText('## 2024-01-02 Shipped it\n\nText')).toBe('markdown');
    expect(guessFormatFromText('date,title,content\n2024-01-01,a,b')).toBe('csv');
    expect(guessFormatFromText('date;Content;tags\n')).toBe('csv');
    expect(guessFormatFromText('just some words')).toBeNull();
    expect(guessFormatFromText('')).toBeNull();
  });
  it('prefers the name over the text', () => {
    expect(guessFormat('x.csv', '[1]')).toBe('csv');
    expect(guessFormat('x.txt', '[1]')).toBe('json');
    expect(guessFormat(null)).toBeNull();
  });
});
