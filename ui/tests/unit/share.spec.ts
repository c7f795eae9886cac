import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { filenameFromDisposition } from '@/api/download';
import { linksFor, shareUrl, type ShareOut } from '@/components/ai/share';
import { basicsForm, basicsPatch, readResume, validateBasics, dateRange, safeUrl } from '@/components/ai/resume';
import { flushPromises, mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter } from 'vue-router';
import ShareView from '@/views/ShareView.vue';
import { errorBody, json, mockFetch } from './helpers';

describe('shareUrl', () => {
  it('builds the public SPA page of a token', () => {
    expect(shareUrl('inv_abc', 'https://app.example')).toBe('https://app.example/share/inv_abc');
    expect(shareUrl('a b/c', 'https://app.example/')).toBe('https://app.example/share/a%20b%2Fc');
  });
  it('uses the current origin by default', () => {
    expect(shareUrl('t1')).toBe(`${window.location.origin}/share/t1`);
  });
});

const link = (o: Partial<ShareOut>): ShareOut => ({
  id: 'l', kind: 'report', doc_id: 'r1', created_by: 'u', created_at: '2026-01-01T00:00:00Z',
  expires_at: '2026-02-01T00:00:00Z', views: 0, status: 'active', ...o,
});

describe('linksFor', () => {
  it('keeps one document’s links, active first then newest', () => {
    const items = [
      link({ id: 'a', status: 'revoked', created_at: '2026-01-05T00:00:00Z' }),
      link({ id: 'b', created_at: '2026-01-02T00:00:00Z' }),
      link({ id: 'c', created_at: '2026-01-03T00:00:00Z' }),
      link({ id: 'd', doc_id: 'r2' }),
      link({ id: 'e', kind: 'resume', doc_id: 'u' }),
    ];
    expect(linksFor(items, 'report', 'r1').map((l) => l.id)).toEqual(['c', 'b', 'a']);
    expect(linksFor(items, 'resume').map((l) => l.id)).toEqual(['e']);
  });
});

describe('filenameFromDisposition', () => {
  it('prefers filename*, falls back to filename', () => {
    expect(filenameFromDisposition(`attachment; filename="report-2026-11-22.pdf"; filename*=UTF-8''report-2026-11-22.pdf`)).toBe('report-2026-11-22.pdf');
    expect(filenameFromDisposition(`attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`)).toBe('résumé.pdf');
    expect(filenameFromDisposition('attachment; filename=plain.md')).toBe('plain.md');
    expect(filenameFromDisposition(null)).toBeNull();
  });
});

const RESUME = {
  basics: { name: 'Olive', email: 'o@x.io', location: { city: 'Berlin' }, summary: 'Hi.' },
  work: [{ name: 'Acme', position: 'Engineer', startDate: '2026-11-17', highlights: ['Did X', 3] }],
  skills: [{ name: 'Databases', keywords: ['PostgreSQL'], level: 'advanced' }],
};

describe('resume', () => {
  it('reads JSON Resume leniently', () => {
    const r = readResume(RESUME)!;
    expect(r.name).toBe('Olive');
    expect(r.location).toBe('Berlin');
    expect(r.work[0]).toMatchObject({ title: 'Engineer', subtitle: 'Acme', highlights: ['Did X'] });
    expect(r.skills[0]?.keywords).toEqual(['PostgreSQL']);
    expect(readResume(null)).toBeNull();
    expect(dateRange('2026-11-17')).toBe('Nov 2026 – present');
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
  });
  it('patches only what changed; cleared fields become null', () => {
    const before = basicsForm(RESUME);
    expect(basicsPatch(before, { ...before })).toBeNull();
    expect(basicsPatch(before, { ...before, label: 'Staff engineer', email: '', city: 'Paris' })).toEqual({
      basics: { label: 'Staff engineer', email: null, location: { city: 'Paris' } },
    });
  });
  it('validates the edit form', () => {
    const f = basicsForm(RESUME);
    expect(validateBasics(f)).toEqual({});
    expect(validateBasics({ ...f, name: ' ', email: 'nope', url: 'ftp://x' })).toEqual({
      name: 'Enter your name.',
      email: 'Enter a valid email address.',
      url: 'Enter a link starting with https://',
    });
  });
});

describe('ShareView', () => {
  beforeEach(() => setActivePinia(createPinia()));
  const router = () =>
    createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div/>' } }] });

  it('asks for JSON and renders a shared resume', async () => {
    const { calls } = mockFetch({
      'GET /api/share/tok1': () => json({ kind: 'resume', title: 'Olive', resume: RESUME, expires_at: '2026-12-01T00:00:00Z', views: 1 }),
    });
    const w = mount(ShareView, { props: { token: 'tok1' }, global: { plugins: [router()] } });
    await flushPromises();
    expect(new URL(calls[0]!.url).searchParams.get('format')).toBe('json');
    expect(w.text()).toContain('Shared via AfterResume');
    expect(w.find('h1').text()).toBe('Olive');
    expect(w.text()).toContain('PostgreSQL');
    expect(w.text()).not.toContain('"basics"');
  });

  it('says so when the link is gone', async () => {
    mockFetch({ 'GET /api/share/old': () => errorBody('not_found', 'shared document not found', 404) });
    const w = mount(ShareView, { props: { token: 'old' }, global: { plugins: [router()] } });
    await flushPromises();
    expect(w.text()).toContain('no longer available');
    expect(w.find('[role="alert"]').exists()).toBe(true);
  });
});
