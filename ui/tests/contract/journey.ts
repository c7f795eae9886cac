// The main journey through the TypeScript types generated from openapi/openapi.json
// (src/api/schema.d.ts) and openapi-fetch, like tests/contract/journey.py does with the
// generated Python client. `npm run typecheck` compiles it, so a change to the document
// that breaks this journey for a TypeScript integrator fails CI. It is not run: the
// Python journey exercises the same calls against the server.
import createClient from 'openapi-fetch';
import type { components, paths } from '../../src/api/schema';

type Schemas = components['schemas'];

function must<T>(r: { data?: T; error?: Schemas['ErrorBody'] }, step: string): T {
  if (r.data === undefined) throw new Error(`${step}: ${r.error?.error.code ?? 'no body'}`);
  return r.data;
}

export async function journey(apiUrl: string, passkey: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl: apiUrl });
  const password = 'correct horse battery staple';
  must(
    await anonymous.POST('/auth/signup', {
      body: { passkey, email: 'journey@example.com', password, display_name: 'Journey', tenant_name: 'Journey Inc' },
    }),
    'signup',
  );
  const tokens: Schemas['TokenResponse'] = must(
    await anonymous.POST('/auth/token', { body: { email: 'journey@example.com', password } }),
    'login',
  );
  const api = createClient<paths>({ baseUrl: apiUrl, headers: { Authorization: `Bearer ${tokens.access_token}` } });

  const today = new Date().toISOString().slice(0, 10);
  const entry: Schemas['Entry'] = must(
    await api.POST('/worklogs', { body: { content: 'Migrated billing to Postgres 16', date: today, tags: ['postgres'] } }),
    'create',
  );
  const page: Schemas['EntryPage'] = must(await api.GET('/worklogs', { params: { query: { limit: 20 } } }), 'list');
  const found = must(await api.GET('/worklogs', { params: { query: { q: 'postgres' } } }), 'search');
  const updated = must(
    await api.PATCH('/worklogs/{id}', {
      params: { path: { id: entry.id } },
      body: { version: entry.version, project: 'billing' },
    }),
    'update',
  );

  const form = new FormData();
  form.append('file', new Blob(['migration notes\n'], { type: 'text/plain' }), 'notes.txt');
  const attachment: Schemas['AttachmentOut'] = must(
    await api.POST('/worklogs/{id}/attachments', {
      params: { path: { id: entry.id } },
      // The generated body type says `file: string` (format binary); a browser sends FormData.
      body: form as unknown as { file: string },
    }),
    'upload',
  );

  const role: Schemas['Role'] = 'read_only';
  const invitation: Schemas['CreatedInvitation'] = must(await api.POST('/invitations', { body: { role } }), 'invite');

  const started: Schemas['ReportAccepted'] = must(
    await api.POST('/reports', { body: { kind: 'status', from: today, to: today } }),
    'report',
  );
  let job: Schemas['JobOut'] = must(await api.GET('/jobs/{id}', { params: { path: { id: started.job.id } } }), 'job');
  const done: Schemas['JobState'][] = ['succeeded', 'failed', 'cancelled'];
  while (!done.includes(job.status)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = must(await api.GET('/jobs/{id}', { params: { path: { id: job.id } } }), 'job');
  }
  const report: Schemas['ReportOut'] = must(
    await api.GET('/reports/{id}', { params: { path: { id: started.report.id } } }),
    'read report',
  );
  const share: Schemas['CreatedShare'] = must(
    await api.POST('/reports/{id}/share', { params: { path: { id: report.id } }, body: { expires_in_hours: 24 } }),
    'share',
  );
  const me: Schemas['Me'] = must(await api.GET('/me'), 'me');
  const tenant: Schemas['Tenant'] = must(await api.GET('/tenant'), 'tenant');

  await api.DELETE('/worklogs/{id}', { params: { path: { id: entry.id } } });
  const missing = await api.GET('/worklogs/{id}', { params: { path: { id: entry.id } } });
  const notFound: Schemas['ErrorCode'] | undefined = missing.error?.error.code;
  const invalid = await api.POST('/worklogs', { body: { content: '   ' } });
  const fields: string[] = (invalid.error?.error.details ?? []).map((d) => d.field);

  console.log({
    listed: page.items.length,
    found: found.items.length,
    version: updated.version,
    attachment: attachment.size,
    passkey: invitation.passkey.length > 0,
    report: report.status,
    share: share.url,
    me: me.role,
    members: tenant.member_count,
    notFound,
    fields,
  });
}
