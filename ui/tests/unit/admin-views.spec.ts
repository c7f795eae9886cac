import { mount, flushPromises } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import AdminJobsView from '@/views/admin/AdminJobsView.vue';
import TenantView from '@/views/TenantView.vue';
import PasskeyModal from '@/components/admin/PasskeyModal.vue';
import { useAuthStore } from '@/stores/auth';
import { errorBody, json, me, mockFetch } from './helpers';

const job = (status: string, over: Record<string, unknown> = {}) => ({
  id: 'j1', tenant_id: 't1', kind: 'diagnostics.echo', status, attempts: 1, max_attempts: 1, priority: 5, payload: {},
  created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', run_at: '2024-01-01T00:00:00Z',
  dead_letter: status === 'failed', cancel_requested: false, steps: [], url: '/api/jobs/j1', events_url: '/api/jobs/j1/events', ...over,
});

function router() {
  const r = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div/>' } }] });
  return r;
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  await flushPromises();
}

describe('AdminJobsView', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });

  it('retries a failed job and updates the row without reload', async () => {
    const { calls } = mockFetch({
      'GET /api/system/jobs': () => json({ items: [job('failed', { error: 'boom' }), job('succeeded', { id: 'j2' })], total: 2 }),
      'POST /api/system/jobs/j1/retry': () => json(job('queued', { dead_letter: false })),
      'GET /api/system/jobs/j1': () => json(job('succeeded', { dead_letter: false })),
    });
    const r = router();
    await r.push('/admin/jobs?status=failed');
    const w = mount(AdminJobsView, { global: { plugins: [r] } });
    await until(() => w.text().includes('boom'));
    expect(calls[0]!.url).toContain('status=failed');
    const retryButtons = w.findAll('button').filter((b) => b.text() === 'Retry');
    expect(retryButtons).toHaveLength(1); // only the failed one
    await retryButtons[0]!.trigger('click');
    await until(() => w.find('[data-job-id="j1"] [data-testid="job-status"]').text() === 'queued');
    expect(w.find('[data-job-id="j1"] [data-testid="job-status"]').text()).toBe('queued');
    // then it follows the job until it settles
    await new Promise((res) => setTimeout(res, 1100));
    await flushPromises();
    expect(w.find('[data-job-id="j1"] [data-testid="job-status"]').text()).toBe('succeeded');
    w.unmount();
  });
});

describe('PasskeyModal', () => {
  it('shows the passkey and the signup link once', async () => {
    const inv = {
      id: 'i1', tenant_id: 't1', role: 'read_only', status: 'pending', created_by: 'u1', created_at: '2024-01-01T00:00:00Z',
      expires_at: '2024-01-04T00:00:00Z', passkey: 'PK-123',
    };
    const w = mount(PasskeyModal, { props: { invitation: inv as never }, attachTo: document.body });
    await flushPromises();
    expect((w.find('#passkey-value').element as HTMLInputElement).value).toBe('PK-123');
    expect((w.find('#passkey-link').element as HTMLInputElement).value).toBe(`${location.origin}/signup?passkey=PK-123`);
    expect(w.text()).toContain("You won't see it again");
    expect(w.text()).toContain('Read-only');
    w.unmount();
  });
});

describe('TenantView', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });

  it('reverts the role select and shows the API error when a change is refused', async () => {
    mockFetch({
      'GET /api/tenant': () => json({ id: 't1', name: 'Acme', created_at: '2024-01-01T00:00:00Z', role: 'owner', member_count: 1 }),
      'GET /api/tenant/members': () => json({ items: [{ user_id: 'u1', email: 'a@x.io', display_name: 'A', role: 'owner', disabled: false, joined_at: '2024-01-01T00:00:00Z' }] }),
      'GET /api/invitations': () => json({ items: [] }),
      'GET /api/tenant/audit': () => json({ items: [] }),
      'PATCH /api/tenant/members/u1': () => errorBody('last_owner', 'last owner', 409),
    });
    const auth = useAuthStore();
    auth.me = me({ role: 'owner' }) as never;
    const r = router();
    await r.push('/tenant');
    const w = mount(TenantView, { global: { plugins: [r] } });
    await until(() => w.text().includes('a@x.io'));
    expect(w.text()).toContain('No invitations yet.');
    const select = w.find('select[aria-label="Role of A"]');
    await select.setValue('member');
    await flushPromises();
    expect((select.element as HTMLSelectElement).value).toBe('owner');
    const { useUiStore } = await import('@/stores/ui');
    expect(useUiStore().toasts.map((t) => t.message)).toContain('A workspace needs at least one owner.');
    w.unmount();
  });

  it('validates the invitation form before sending', async () => {
    const { calls } = mockFetch({
      'GET /api/tenant': () => json({ id: 't1', name: 'Acme', created_at: '2024-01-01T00:00:00Z', role: 'owner', member_count: 1 }),
      'GET /api/tenant/members': () => json({ items: [] }),
      'GET /api/invitations': () => json({ items: [] }),
      'GET /api/tenant/audit': () => json({ items: [] }),
    });
    useAuthStore().me = me({ role: 'owner' }) as never;
    const r = router();
    await r.push('/tenant');
    const w = mount(TenantView, { global: { plugins: [r] } });
    await flushPromises();
    await w.find('input[type="number"]').setValue('9999');
    await w.find('form.inv-form').trigger('submit');
    await flushPromises();
    expect(w.text()).toContain('from 1 to 720');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    w.unmount();
  });
});
