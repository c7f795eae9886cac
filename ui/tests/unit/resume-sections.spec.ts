import { describe, expect, it } from 'vitest';
import { newItem, previewOf, sectionErrors, sectionsForm, sectionsPatch } from '@/components/ai/resumeSections';

const resume = {
  basics: { name: 'Dana' },
  work: [
    { name: 'Acme', position: 'Engineer', highlights: ['Cut p95 by 80%'], location: 'Berlin' },
    { name: 'Initech', position: 'Intern' },
  ],
  projects: [{ name: 'Exporter', description: 'CSV export' }],
  education: [{ institution: 'TU Berlin', area: 'CS' }],
  skills: [{ name: 'Rust', keywords: ['tokio', 'axum'] }],
};

describe('resume sections', () => {
  it('sends only changed sections; removed and renamed named items are hidden', () => {
    const before = sectionsForm(resume, {});
    const after = sectionsForm(resume, {});
    after.work.items[0]!.highlights = 'Cut p95 by 80%\nLed the migration';
    after.work.items.splice(1, 1);
    after.skills.items[0]!.fields.name = 'Rust (language)';
    const body = sectionsPatch(before, after);
    expect(body).toEqual({
      work: [
        { name: 'Acme', position: 'Engineer', location: 'Berlin', highlights: ['Cut p95 by 80%', 'Led the migration'] },
        { name: 'initech', hidden: true },
      ],
      skills: [{ name: 'Rust (language)', keywords: ['tokio', 'axum'] }, { name: 'rust', hidden: true }],
    });
    expect(sectionsPatch(before, sectionsForm(resume, {}))).toBeNull();
  });
  it('hides a whole section as an empty list, and knows a hidden one', () => {
    const before = sectionsForm(resume, {});
    const after = sectionsForm(resume, {});
    after.education.hidden = true;
    expect(sectionsPatch(before, after)).toEqual({ education: [] });
    expect(sectionsForm({ ...resume, education: [] }, { education: [] }).education.hidden).toBe(true);
  });
  it('previews the form, and asks for names', () => {
    const form = sectionsForm(resume, {});
    form.projects.items.unshift({ ...newItem('projects'), fields: { name: 'Billing', description: '', url: '', startDate: '', endDate: '' } });
    form.education.hidden = true;
    const doc = previewOf(resume, form);
    expect((doc.projects as { name: string }[]).map((p) => p.name)).toEqual(['Billing', 'Exporter']);
    expect(doc.education).toEqual([]);
    form.work.items.push(newItem('work'));
    expect(sectionErrors(form)).toEqual(['Work 3: Company is required.']);
  });
});
