import { vi } from 'vitest';

export type Handler = (req: Request) => Response | Promise<Response>;

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
  });
}

export function errorBody(code: string, message = code, status = 400): Response {
  return json({ error: { code, message, correlation_id: 'cid-1' } }, status);
}

/** Replace globalThis.fetch with a router over `METHOD /path` keys; records requests. */
export function mockFetch(routes: Record<string, Handler | Handler[]>) {
  const calls: Request[] = [];
  const counters: Record<string, number> = {};
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    calls.push(req);
    const key = `${req.method} ${new URL(req.url).pathname}`;
    const h = routes[key];
    if (!h) return json({ error: { code: 'not_found', message: key, correlation_id: 'x' } }, 404);
    if (Array.isArray(h)) {
      const i = counters[key] ?? 0;
      counters[key] = i + 1;
      const handler = h[Math.min(i, h.length - 1)];
      return handler!(req);
    }
    return h(req);
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}

export const token = (n = 1) => ({
  access_token: `tok-${n}`,
  token_type: 'Bearer',
  expires_in: 900,
  user_id: 'u1',
  tenant_id: 't1',
  role: 'member',
});

export const me = (over: Record<string, unknown> = {}) => ({
  id: 'u1',
  email: 'a@x.io',
  display_name: 'A',
  timezone: 'UTC',
  is_staff: false,
  tenant_id: 't1',
  tenant_name: 'T',
  role: 'member',
  created_at: '2024-01-01T00:00:00Z',
  ...over,
});
