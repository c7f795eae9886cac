import { describe, expect, it } from 'vitest';
import {
  assignableRoles, AUTH_EVENT_KINDS, authEventLabel, canManageMember, compactJson, emailError, formatSeconds,
  isRetryable, localToIso, metricTotal, parseExpiryHours, parsePrometheus, pillClass, replaceById, signupLink, withNames,
} from '@/components/admin/admin';
import spec from '../../../openapi/openapi.json';

describe('roles', () => {
  it('owners assign any role, admins all but owner, others none', () => {
    expect(assignableRoles('owner')).toEqual(['owner', 'admin', 'member', 'read_only']);
    expect(assignableRoles('admin')).toEqual(['admin', 'member', 'read_only']);
    expect(assignableRoles('member')).toEqual([]);
    expect(assignableRoles(null)).toEqual([]);
  });
  it('admins cannot manage owners', () => {
    expect(canManageMember('owner', 'owner')).toBe(true);
    expect(canManageMember('admin', 'owner')).toBe(false);
    expect(canManageMember('admin', 'member')).toBe(true);
    expect(canManageMember('read_only', 'member')).toBe(false);
  });
});

describe('invitation form helpers', () => {
  it('builds the signup link with an encoded passkey', () => {
    expect(signupLink('https://a.io/', 'ab c+d')).toBe('https://a.io/signup?passkey=ab%20c%2Bd');
  });
  it('validates expiry hours', () => {
    expect(parseExpiryHours('')).toEqual({});
    expect(parseExpiryHours('24')).toEqual({ hours: 24 });
    expect(parseExpiryHours(720)).toEqual({ hours: 720 });
    expect(parseExpiryHours('0').error).toBeTruthy();
    expect(parseExpiryHours('721').error).toBeTruthy();
    expect(parseExpiryHours('1.5').error).toBeTruthy();
  });
  it('accepts an empty or plausible email only', () => {
    expect(emailError('')).toBeUndefined();
    expect(emailError(' a@b.io ')).toBeUndefined();
    expect(emailError('nope')).toBeTruthy();
  });
});

describe('jobs', () => {
  it('retries failed, cancelled and dead-lettered jobs only', () => {
    expect(isRetryable({ status: 'failed', dead_letter: true })).toBe(true);
    expect(isRetryable({ status: 'cancelled', dead_letter: false })).toBe(true);
    expect(isRetryable({ status: 'succeeded', dead_letter: false })).toBe(false);
    expect(isRetryable({ status: 'queued', dead_letter: false })).toBe(false);
  });
  it('replaces a row by id, keeping order', () => {
    const rows = [{ id: 'a', v: 1 }, { id: 'b', v: 2 }];
    expect(replaceById(rows, { id: 'b', v: 3 })).toEqual([{ id: 'a', v: 1 }, { id: 'b', v: 3 }]);
  });
  it('maps states to pill classes', () => {
    expect(pillClass('failed')).toContain('adm-pill-bad');
    expect(pillClass('succeeded')).toContain('adm-pill-ok');
    expect(pillClass('queued')).toContain('adm-pill-warn');
  });
});

describe('audit', () => {
  it('has a label for every AuthEventKind of the spec', () => {
    const kinds = (spec as { components: { schemas: { AuthEventKind: { enum: string[] } } } }).components.schemas.AuthEventKind.enum;
    expect([...AUTH_EVENT_KINDS].sort()).toEqual([...kinds].sort());
    expect(authEventLabel('signup')).toBe('Sign-up');
    expect(authEventLabel('something_new')).toBe('something_new');
  });
  it('converts datetime-local values to ISO', () => {
    expect(localToIso('')).toBeUndefined();
    expect(localToIso('garbage')).toBeUndefined();
    expect(localToIso('2024-05-01T10:00')).toBe(new Date('2024-05-01T10:00').toISOString());
  });
  it('compacts JSON for table cells', () => {
    expect(compactJson({})).toBe('');
    expect(compactJson(null)).toBe('');
    expect(compactJson({ a: 1 })).toBe('{"a":1}');
    expect(compactJson('x'.repeat(300), 10)).toHaveLength(10);
  });
});

describe('metrics', () => {
  const text = [
    '# HELP http_requests_total Requests',
    '# TYPE http_requests_total counter',
    'http_requests_total{route="/a",status="200"} 3',
    'afterresume_http_requests_total{route="/b",status="500"} 2',
    'queue_depth 7',
    'bad line',
    'x_total NaN',
  ].join('\n');
  it('parses samples and sums a metric', () => {
    const s = parsePrometheus(text);
    expect(s).toHaveLength(3);
    expect(metricTotal(s, 'http_requests_total')).toBe(5); // with and without the registry prefix
    expect(metricTotal(s, 'queue_depth')).toBe(7);
    expect(metricTotal(s, 'missing')).toBeNull();
  });
  it('formats durations', () => {
    expect(formatSeconds(undefined)).toBe('—');
    expect(formatSeconds(5)).toBe('5 s');
    expect(formatSeconds(600)).toBe('10 min');
    expect(formatSeconds(7200)).toBe('2.0 h');
  });
});

describe('audit details', () => {
  it('show names instead of the user ids the workspace knows, at any depth', () => {
    const people = { 'u-1': 'Dana Reyes <dana@x.io>' };
    expect(withNames({ user_id: 'u-1', amount: 5, nested: ['u-1', 'u-2'] }, people)).toEqual({
      user_id: 'Dana Reyes <dana@x.io>',
      amount: 5,
      nested: ['Dana Reyes <dana@x.io>', 'u-2'],
    });
    expect(compactJson(withNames({ family: 'f-9' }, people))).toBe('{"family":"f-9"}');
  });
});
