import { describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter } from 'vue-router';
import CitedMarkdown from '@/components/ai/CitedMarkdown.vue';
import {
  citationLabel,
  entryPath,
  linkAction,
  linkCitations,
  numberCitations,
  unnumberedCitations,
  type Citation,
} from '@/components/ai/citations';

// As the server writes it: markers numbered by first appearance, citations sorted by id.
const MD = `# Weekly report

## Impact

- Cut latency [1] [2]
- Fixed "quotes" [3]

## Sources

1. Work 5 (2026-11-17)
2. Say "hi" (2026-11-18)
3. entry e9 (no longer available)

[1]: #sources "Work 5 (2026-11-17)"
[2]: #sources "Say \\"hi\\" (2026-11-18)"
[3]: #sources "entry e9 (no longer available)"
`;
// Numbered by id, as reports written before citations carried their marker number.
const CITATIONS: Citation[] = [
  { number: 1, entry_id: 'e1', title: 'Say "hi"', date: '2026-11-18', exists: true },
  { number: 2, entry_id: 'e5', title: 'Work   5', date: '2026-11-17', exists: true },
  { number: 3, entry_id: 'e7', title: 'Not cited in text', date: '2026-11-19', exists: true },
  { number: 4, entry_id: 'e9', exists: false },
];

describe('numberCitations', () => {
  it('matches markers to entries by their label, not by position', () => {
    const n = numberCitations(MD, CITATIONS);
    expect(n.map((x) => [x.n, x.citation?.entry_id])).toEqual([
      [1, 'e5'],
      [2, 'e1'],
      [3, 'e9'],
    ]);
    expect(n[1]?.label).toBe('Say "hi" (2026-11-18)');
  });
  it('tells entries with the same label apart by their number', () => {
    const md = '- A [1]\n- B [2]\n\n[1]: #sources "Standup (2026-11-18)"\n[2]: #sources "Standup (2026-11-18)"\n';
    const same: Citation[] = [
      { number: 2, entry_id: 'e2', title: 'Standup', date: '2026-11-18', exists: true },
      { number: 1, entry_id: 'e3', title: 'Standup', date: '2026-11-18', exists: true },
    ];
    expect(numberCitations(md, same).map((x) => [x.n, x.citation?.entry_id])).toEqual([
      [1, 'e3'],
      [2, 'e2'],
    ]);
  });
  it('keeps markers it cannot match, with a null citation', () => {
    expect(numberCitations(MD, [])[0]).toEqual({ n: 1, label: 'Work 5 (2026-11-17)', citation: null });
    expect(numberCitations('no refs', CITATIONS)).toEqual([]);
  });
  it('lists citations no marker refers to', () => {
    expect(unnumberedCitations(numberCitations(MD, CITATIONS), CITATIONS).map((c) => c.entry_id)).toEqual(['e7']);
  });
  it('builds labels like the server', () => {
    expect(citationLabel({ number: 1, entry_id: 'x', title: ' A\n b ', date: '2026-01-02', exists: true })).toBe('A b (2026-01-02)');
  });
});

describe('linkCitations', () => {
  it('points existing entries at /worklogs/:id and others at the in-page list, dropping Sources', () => {
    const out = linkCitations(MD, numberCitations(MD, CITATIONS));
    expect(out).toContain('[1]: /worklogs/e5 "Work 5 (2026-11-17)"');
    expect(out).toContain('[2]: /worklogs/e1 "Say \\"hi\\" (2026-11-18)"');
    expect(out).toContain('[3]: #cite-3 "entry e9 (no longer available)"');
    expect(out).not.toContain('## Sources');
    expect(out).not.toContain('1. Work 5');
    expect(out).toContain('- Cut latency [1] [2]');
  });
  it('leaves Markdown without definitions alone', () => {
    expect(linkCitations('# Hi\n\n## Sources\n\n1. x\n', [])).toBe('# Hi\n\n## Sources\n\n1. x\n');
  });
  it('encodes entry ids in paths', () => {
    expect(entryPath('a/b')).toBe('/worklogs/a%2Fb');
  });
});

describe('linkAction', () => {
  it('routes app paths, scrolls to anchors, leaves the rest', () => {
    expect(linkAction('/worklogs/e1')).toEqual({ kind: 'route', to: '/worklogs/e1' });
    expect(linkAction('#cite-2')).toEqual({ kind: 'anchor', id: 'cite-2' });
    expect(linkAction('https://example.com')).toEqual({ kind: 'default' });
    expect(linkAction('//evil.example')).toEqual({ kind: 'default' });
    expect(linkAction('/api/share/x')).toEqual({ kind: 'default' });
    expect(linkAction(null)).toEqual({ kind: 'default' });
  });
});

describe('CitedMarkdown', () => {
  it('renders markers as links to entries and navigates with the router', async () => {
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: '/', component: { template: '<div/>' } },
        { path: '/worklogs/:id', component: { template: '<div/>' } },
      ],
    });
    await router.push('/');
    const w = mount(CitedMarkdown, { props: { markdown: MD, citations: CITATIONS }, global: { plugins: [router] } });
    const marker = w.find('.cited-md a[href="/worklogs/e5"]');
    expect(marker.exists()).toBe(true);
    expect(marker.text()).toBe('1');
    const items = w.findAll('#sources ol li');
    expect(items.map((li) => li.attributes('id'))).toEqual(['cite-1', 'cite-2', 'cite-3']);
    expect(items[0]?.find('a').attributes('href')).toBe('/worklogs/e5');
    expect(items[2]?.text()).toContain('entry deleted');
    expect(w.find('#sources ul').text()).toContain('Not cited in text');
    await marker.trigger('click', { button: 0 });
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/worklogs/e5');
  });
});
