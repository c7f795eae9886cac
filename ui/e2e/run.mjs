#!/usr/bin/env node
// AfterResume browser end-to-end test: a real server, the built SPA, Debian's Chromium.
//
//   cd ui && npm run build && node e2e/run.mjs          (or: scripts/ui-e2e.sh from the repo root)
//
// Environment:
//   AFTERRESUME_BIN  server binary (default /work/bin/afterresume)
//   CHROMIUM         browser executable (default /usr/bin/chromium)
//   E2E_SERVE        direct (default: the server serves ui/dist from UI_DIR at /) | proxy (this script
//                    serves ui/dist and forwards /api: only for a server binary without UI_DIR support)
//   E2E_SCREENSHOTS  screenshot folder (default ui/e2e/screenshots, emptied of *.png at the start)
//   E2E_STRICT       accepted for compatibility; every page is real now, so every step must pass
//   E2E_KEEP=1       keep the temporary DATA_DIR and server log
//   E2E_TIMEOUT_MS   default wait for UI assertions (default 15000)
//   E2E_PROFILE=1    print load/check/screenshot times of every page of the tour
//
// Accessibility: every page of the tour runs axe-core (injected with a CDP evaluation, which the
// server's CSP does not apply to) in the light theme, and a few pages again in the dark theme;
// a "critical" or "serious" violation fails the run, "moderate"/"minor" ones are counted in the
// summary. A small smoke check (unique ids, an <h1>, nothing wider than the viewport) runs
// beside it. Every page is toured at 1280 px and at 390 px, and a page wider than its
// viewport (horizontal scrolling) fails the run at either width.
//
// The harness builds nothing: it needs ui/dist and the server binary. It creates a temporary
// DATA_DIR, a staff user and an owner invitation with the CLI, starts `afterresume serve` on
// a free port, drives the scenario, visits every page (screenshots + an accessibility smoke
// check + CSP/JS error capture), prints a summary and exits non-zero on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const UI = path.resolve(HERE, '..');
const ROOT = path.resolve(UI, '..');
const DIST = path.join(UI, 'dist');
const BIN = process.env.AFTERRESUME_BIN || '/work/bin/afterresume';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.resolve(process.env.E2E_SCREENSHOTS || path.join(HERE, 'screenshots'));
const KEEP = process.env.E2E_KEEP === '1';
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 15000);
// axe-core's browser bundle, evaluated in each page before axe.run().
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const STAFF = { email: 'staff@e2e.test', password: 'staff-password-123', name: 'Sam Staff' };
const OWNER = { email: 'owner@e2e.test', password: 'owner-password-123', name: 'Olivia Owner', tenant: 'E2E Workspace' };
const READER = { email: 'reader@e2e.test', password: 'reader-password-123', name: 'Riley Reader' };
const MEMBER = { email: 'member@e2e.test', password: 'member-password-123', name: 'Morgan Member' };

// ---------------------------------------------------------------------------------------
// Small utilities

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (...a) => console.log(`[e2e ${elapsed()}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value; throw `message` (plus the last value/error) on timeout. */
async function waitUntil(fn, { timeout = TIMEOUT, interval = 250, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${JSON.stringify(last)?.slice(0, 300)})`);
    await sleep(interval);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------
// Server

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'afterresume-e2e-'));
const dataDir = path.join(tmp, 'data');
fs.mkdirSync(dataDir);
const serverLog = path.join(tmp, 'server.log');
const serverEnv = {
  ...process.env,
  DATA_DIR: dataDir,
  SECRET_KEY: randomBytes(32).toString('hex'),
  ENVIRONMENT: 'development',
  LLM_PROVIDER: 'local',
  UI_DIR: DIST,
  AUTH_RATE_LIMIT_PER_MINUTE: '10000',
  API_RATE_LIMIT_PER_MINUTE: '100000',
  RUST_LOG: process.env.RUST_LOG || 'warn',
};

function cli(args) {
  const r = spawnSync(BIN, args, { env: serverEnv, encoding: 'utf8', timeout: 60000 });
  fs.appendFileSync(serverLog, `$ afterresume ${args.join(' ')}\n${r.stderr ?? ''}\n`);
  if (r.status !== 0) throw new Error(`afterresume ${args[0]} ${args[1]} failed (${r.status}): ${(r.stderr || r.error?.message || '').slice(-800)}`);
  return r.stdout;
}

let server = null;
async function startServer(port) {
  const out = fs.openSync(serverLog, 'a');
  server = spawn(BIN, ['serve', '--port', String(port)], { env: serverEnv, stdio: ['ignore', out, out] });
  server.on('exit', (code, sig) => {
    if (!shuttingDown) log(`server exited unexpectedly (code ${code}, signal ${sig}); log: ${serverLog}`);
    server = null;
  });
  await waitUntil(
    async () => {
      if (!server) throw new Error('server is not running');
      const r = await fetch(`http://127.0.0.1:${port}/api/healthz`);
      return r.ok;
    },
    { timeout: 60000, interval: 200, message: `GET /api/healthz on :${port}` },
  );
}

let shuttingDown = false;
async function stopServer() {
  shuttingDown = true;
  if (!server) return;
  const s = server;
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGTERM');
  const t = setTimeout(() => s.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------
// Proxy mode: serve ui/dist ourselves (index.html fallback, the server's CSP) and forward
// /api/* to the server, rewriting Host/Origin/Referer so its same-origin CSRF check passes.

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.webp': 'image/webp', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8', '.map': 'application/json',
};

function startProxy(apiPort, csp) {
  const upstream = `http://127.0.0.1:${apiPort}`;
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      const headers = { ...req.headers, host: `127.0.0.1:${apiPort}` };
      if (headers.origin) headers.origin = upstream;
      if (headers.referer) {
        try {
          const r = new URL(headers.referer);
          headers.referer = upstream + r.pathname + r.search;
        } catch {
          delete headers.referer;
        }
      }
      const up = http.request({ host: '127.0.0.1', port: apiPort, method: req.method, path: req.url, headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy error: ${e.message}`);
      });
      req.pipe(up);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let file = path.normalize(path.join(DIST, decodeURIComponent(url.pathname)));
    if (!file.startsWith(DIST) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(DIST, 'index.html');
    const headers = { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'x-content-type-options': 'nosniff' };
    if (csp) headers['content-security-policy'] = csp;
    headers['cache-control'] = file.endsWith('index.html') ? 'no-store' : 'public, max-age=3600';
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

// ---------------------------------------------------------------------------------------
// API helper (node side): for setup the UI can't do yet and for fallbacks.

let API = '';
async function apiCall(method, p, { token, body, form } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch(`${API}/api${p}`, { method, headers, body: payload });
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!r.ok) throw new Error(`${method} /api${p} -> ${r.status}: ${text.slice(0, 300)}`);
  return data;
}
const login = async (u) => (await apiCall('POST', '/auth/token', { body: { email: u.email, password: u.password } })).access_token;
async function waitJob(token, id, { staff = false, timeout = 60000 } = {}) {
  const p = staff ? `/system/jobs/${id}` : `/jobs/${id}`;
  return waitUntil(
    async () => {
      const j = await apiCall('GET', p, { token });
      return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : null;
    },
    { timeout, interval: 300, message: `job ${id} to finish` },
  );
}

// ---------------------------------------------------------------------------------------
// Browser helpers

let browser;
const problems = []; // { page, kind, detail } — CSP violations, JS errors, a11y violations
const shots = [];
const axeReport = []; // { page, moderate, minor, rules } — axe findings that do not fail the run

function watch(page, who) {
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && /Content Security Policy|Refused to (apply|load|execute|connect)/i.test(text)) {
      problems.push({ page: `${who} ${page.url()}`, kind: 'csp', detail: text.slice(0, 300) });
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push({ page: `${who} ${page.url()}`, kind: 'http-5xx', detail: `${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}` });
  });
  page.on('pageerror', (e) => problems.push({ page: `${who} ${page.url()}`, kind: 'js-error', detail: String(e.message).slice(0, 300) }));
}

async function newPage(who, viewport = { width: 1280, height: 900 }, options = {}) {
  const ctx = await browser.newContext({ baseURL: BASE, viewport, locale: 'en-US', timezoneId: 'UTC', ...options });
  ctx.setDefaultTimeout(TIMEOUT);
  const page = await ctx.newPage();
  watch(page, who);
  trackRequests(page);
  return page;
}

const inflight = new WeakMap(); // page -> Set of requests still running (job event streams excluded)
function trackRequests(page) {
  const set = new Set();
  inflight.set(page, set);
  page.on('request', (r) => {
    if (!/\/api\/jobs\/[^/]+\/events$/.test(new URL(r.url()).pathname)) set.add(r);
  });
  page.on('requestfinished', (r) => set.delete(r));
  page.on('requestfailed', (r) => set.delete(r));
}

/**
 * Wait until the page is quiet: no request running for 150 ms (like Playwright's
 * "networkidle", which waits 500 ms and counts open SSE streams) and no "Loading…" status.
 */
async function settle(page, { quietMs = 150, timeout = 10000 } = {}) {
  const set = inflight.get(page);
  const end = Date.now() + timeout;
  let quietSince = Date.now();
  while (Date.now() < end) {
    if (set?.size) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) break;
    await sleep(25);
  }
  await page.locator('[role=status]:has-text("Loading…")').first().waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  return file;
}

/** Accessibility smoke check, run in the page: names for controls and buttons, unique ids, an <h1> (axe does not fail on the last two). */
function a11yScan() {
  const out = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) || el.closest('dialog');
  const describe = (el) => {
    const id = el.id ? `#${el.id}` : '';
    const cls = el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    return `${el.tagName.toLowerCase()}${id}${cls}`.slice(0, 80);
  };
  const nameOf = (el) => {
    const label = el.getAttribute('aria-label');
    if (label && label.trim()) return label.trim();
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const t = by.split(/\s+/).map((i) => document.getElementById(i)?.textContent ?? '').join(' ').trim();
      if (t) return t;
    }
    if (el.labels && el.labels.length) {
      const t = [...el.labels].map((l) => l.textContent ?? '').join(' ').trim();
      if (t) return t;
    }
    const title = el.getAttribute('title');
    if (title && title.trim()) return title.trim();
    return '';
  };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el) || (el.closest('[aria-hidden="true"]') && el.tabIndex < 0)) continue;
    if (!nameOf(el) && !(el.type === 'submit' || el.type === 'button' ? el.value : '')) out.push(`unlabelled ${describe(el)}`);
  }
  for (const el of document.querySelectorAll('button, [role=button]')) {
    if (!visible(el) || (el.closest('[aria-hidden="true"]') && el.tabIndex < 0)) continue;
    if (!nameOf(el) && !(el.textContent ?? '').trim()) out.push(`button without text or aria-label: ${describe(el)}`);
  }
  const seen = new Map();
  for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
  for (const [id, n] of seen) if (n > 1) out.push(`duplicate id "${id}" (${n}×)`);
  for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt')) out.push(`img without alt: ${describe(el)}`);
  if (!document.querySelector('h1')) out.push('no <h1> on the page');
  return out;
}

/** Elements sticking out to the right of a narrow viewport (horizontal scrolling). */
function overflowScan() {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w + 1) return [];
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= w + 1 || r.width === 0) continue;
    // Inside a horizontal scroller is fine.
    let p = el.parentElement, scrolled = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { scrolled = true; break; }
      p = p.parentElement;
    }
    if (scrolled) continue;
    if ([...el.children].some((c) => c.getBoundingClientRect().right > w + 1)) continue; // report the deepest
    out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : ''} right=${Math.round(r.right)}px > ${w}px`);
  }
  return out.slice(0, 5);
}

/** axe-core violations of the current document (axe is injected once per document). */
async function axeScan(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return violations;
}

/** Failing impacts; the others are counted in the summary. */
const AXE_FAIL = new Set(['critical', 'serious']);

async function a11y(page, name) {
  for (const d of await page.evaluate(overflowScan)) problems.push({ page: name, kind: 'overflow', detail: d });
  // Smoke check: what axe does not fail on (duplicate ids in general, a missing <h1>).
  const v = await page.evaluate(a11yScan);
  for (const d of v) problems.push({ page: name, kind: 'a11y', detail: d });
  const counts = { page: name, moderate: 0, minor: 0, rules: new Set() };
  for (const r of await axeScan(page)) {
    if (AXE_FAIL.has(r.impact)) {
      const targets = r.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
      const more = r.nodes.length > 3 ? ` (+${r.nodes.length - 3} more)` : '';
      problems.push({ page: name, kind: 'axe', detail: `${r.id} [${r.impact}] ${r.help}: ${targets}${more}` });
    } else if (r.impact === 'moderate' || r.impact === 'minor') {
      counts[r.impact] += r.nodes.length;
      counts.rules.add(r.id);
    }
  }
  axeReport.push(counts);
  return v;
}

/** Visit, settle, check and screenshot one page. */
async function visit(page, url, name, { expect } = {}) {
  const t = Date.now();
  await page.goto(url);
  await settle(page);
  const ts = Date.now();
  if (expect) await page.getByRole('heading', { name: expect, level: 1 }).first().waitFor();
  // A load error (AsyncState: message, reference, "Try again") is a failure of the page.
  for (const t of await page.locator('.alert-error[role=alert]').allInnerTexts()) problems.push({ page: name, kind: 'load-error', detail: t.replace(/\s+/g, ' ').slice(0, 200) });
  await a11y(page, name);
  const ta = Date.now();
  await shot(page, name);
  if (process.env.E2E_PROFILE) log(`  ${name}: load+settle ${ts - t} ms, checks ${ta - ts} ms, screenshot ${Date.now() - ta} ms`);
}

/** A control by its label text, exactly, ignoring a trailing required-marker " *". */
const byLabel = (scope, label) =>
  scope.getByLabel(new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\*?\\s*$`));

async function fillByLabel(page, label, value) {
  await byLabel(page, label).fill(value);
}

/** The link or button with this name (pages may use either for navigation actions). */
const action = (page, name) =>
  page.getByRole('button', { name, exact: true }).or(page.getByRole('link', { name, exact: true })).first();

/** Resolves when the page opens a job's event stream (GET /api/jobs/{id}/events, SSE); start it before the click. */
function jobEvents(page) {
  const p = page
    .waitForResponse((r) => /\/api\/jobs\/[^/]+\/events$/.test(new URL(r.url()).pathname), { timeout: 30000 })
    .then((r) => {
      const type = r.headers()['content-type'] ?? '';
      if (r.status() !== 200 || !type.includes('text/event-stream')) throw new Error(`GET ${new URL(r.url()).pathname} answered ${r.status()} ${type}`);
      return r;
    });
  p.catch(() => {}); // awaited by the step; never an unhandled rejection if the step fails first
  return p;
}

// ---------------------------------------------------------------------------------------
// Steps

const results = [];
let current = null; // page for the failure screenshot
async function step(name, fn) {
  const started = Date.now();
  log(`▶ ${name}`);
  try {
    await fn();
    results.push({ name, status: 'ok', ms: Date.now() - started });
  } catch (e) {
    const ms = Date.now() - started;
    let file = '';
    if (current && !current.isClosed()) file = await shot(current, `FAIL-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => '');
    results.push({ name, status: 'fail', ms, note: (e instanceof Error ? e.message : String(e)).split('\n')[0] + (file ? ` [screenshot ${path.basename(file)}]` : '') });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------

let BASE = '';
let proxyServer = null;
const state = {};

async function main() {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) throw new Error(`${DIST}/index.html is missing: run "npm run build" in ui/ first`);
  if (!fs.existsSync(BIN)) throw new Error(`server binary ${BIN} not found (set AFTERRESUME_BIN)`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);

  // Screenshots of this run only (the default folder holds nothing else).
  if (!process.env.E2E_SCREENSHOTS && fs.existsSync(SHOTS)) for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png')) fs.rmSync(path.join(SHOTS, f));

  await step('setup: staff user + owner invitation (CLI)', async () => {
    cli(['admin', 'create-staff', '--email', STAFF.email, '--password', STAFF.password, '--name', STAFF.name]);
    const out = cli(['admin', 'invite', '--role', 'owner']);
    state.ownerPasskey = out.split('\n').map((l) => l.trim()).filter(Boolean).pop();
    if (!state.ownerPasskey) throw new Error(`no passkey on stdout of "admin invite": ${JSON.stringify(out)}`);
  });

  await step('setup: start server', async () => {
    const port = await freePort();
    await startServer(port);
    API = `http://127.0.0.1:${port}`;
    const mode = process.env.E2E_SERVE || 'direct';
    if (mode === 'direct') {
      // The server serves ui/dist itself (UI_DIR) at / with history fallback and its CSP.
      const root = await fetch(`${API}/`);
      const type = root.headers.get('content-type') ?? '';
      const html = await root.text();
      if (!root.ok || !type.includes('text/html')) {
        throw new Error(`GET / answered ${root.status} ${type}, not the SPA: this binary does not serve UI_DIR (rebuild it, or E2E_SERVE=proxy)`);
      }
      if (html !== fs.readFileSync(path.join(DIST, 'index.html'), 'utf8')) throw new Error(`GET / is not ${DIST}/index.html`);
      // History fallback, caching and CSP as the SPA needs them.
      const asset = fs.readdirSync(path.join(DIST, 'assets')).find((f) => f.endsWith('.js'));
      const expect = [
        ['/', 200, /no-cache/],
        ['/worklogs/new', 200, /no-cache/],
        [`/assets/${asset}`, 200, /immutable/],
        ['/assets/missing-0000.js', 404, null],
        ['/api/no-such-route', 404, null],
      ];
      for (const [p, status, cache] of expect) {
        const r = await fetch(`${API}${p}`);
        await r.arrayBuffer();
        const cc = r.headers.get('cache-control') ?? '';
        if (r.status !== status || (cache && !cache.test(cc))) throw new Error(`GET ${p}: ${r.status} cache-control "${cc}", expected ${status} ${cache ?? ''}`);
        if (status === 200 && !/script-src 'self'/.test(r.headers.get('content-security-policy') ?? '')) throw new Error(`GET ${p}: no strict CSP`);
      }
      BASE = API;
    } else if (mode === 'proxy') {
      const csp = (await fetch(`${API}/api/healthz`)).headers.get('content-security-policy');
      proxyServer = await startProxy(port, csp);
      BASE = `http://127.0.0.1:${proxyServer.address().port}`;
    } else {
      throw new Error(`E2E_SERVE must be direct or proxy, not "${mode}"`);
    }
    state.mode = mode;
    log(`server ${API} (log ${serverLog}); SPA ${BASE} [${mode}]`);
  });

  await step('setup: launch Chromium', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Our own signal handlers stop the server and clean up (Playwright's would exit first).
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    // Self-test of the accessibility checks: the smoke check must flag three problems here, axe more.
    const p = await browser.newPage();
    await p.setContent('<h1>x</h1><input id="d"><span id="d"></span><button></button><input aria-hidden="true" tabindex="-1">');
    const found = await p.evaluate(a11yScan);
    const axeFound = (await axeScan(p)).map((r) => r.id);
    await p.close();
    if (found.length !== 3) throw new Error(`a11y checker self-test: expected 3 findings, got ${JSON.stringify(found)}`);
    // Two critical findings and a moderate one (no <main>).
    if (!['button-name', 'label', 'landmark-one-main'].every((id) => axeFound.includes(id))) {
      throw new Error(`axe self-test: expected button-name, label and landmark-one-main, got ${JSON.stringify(axeFound)}`);
    }
  });

  // --- public pages before anyone signs up
  const anon = await newPage('anon');
  current = anon;
  await step('public pages: login, signup, 404', async () => {
    await visit(anon, '/login', 'login', { expect: 'Sign in' });
    await visit(anon, '/signup', 'signup', { expect: 'Create your account' });
    await visit(anon, '/no/such/page', '404');
    await anon.getByText(/not found/i).first().waitFor();
    await anon.goto('/worklogs');
    await anon.waitForURL(/\/login\?next=/);
  });

  // --- owner signs up through the UI
  const owner = await newPage('owner');
  current = owner;
  await step('owner signs up with the invitation passkey', async () => {
    await owner.goto(`/signup?passkey=${encodeURIComponent(state.ownerPasskey)}`);
    const pk = await owner.getByLabel('Invitation passkey').inputValue();
    if (pk !== state.ownerPasskey) throw new Error(`passkey field not prefilled from ?passkey= (got "${pk}")`);
    await fillByLabel(owner, 'Your name', OWNER.name);
    await fillByLabel(owner, 'Email', OWNER.email);
    await fillByLabel(owner, 'Password', OWNER.password);
    await fillByLabel(owner, 'Workspace name', OWNER.tenant);
    await owner.getByRole('button', { name: 'Create account' }).click();
    await owner.getByRole('heading', { name: `Welcome, ${OWNER.name}` }).waitFor();
    state.ownerToken = await login(OWNER);
    // A new user's dashboard leads with today's work and the first steps, none done.
    const steps = owner.getByRole('region', { name: 'Get started' });
    await steps.getByText('0 of 5 done').waitFor();
    await steps.getByRole('link', { name: 'Log your first entry' }).waitFor();
    await owner.getByRole('region', { name: 'Today' }).getByText('Nothing logged today yet.').waitFor();
    await shot(owner, 'dashboard-first-run');
  });

  // --- work log
  const entries = [
    { title: 'Shipped the billing export', content: 'Built a CSV export for invoices in Rust with streaming writes.\n\n- cut memory use by 80%\n- added tests', attach: true, outcome: 'Finance exports a month of invoices in seconds.' },
    { title: 'Mentored a new teammate', content: 'Paired with Alex on the SurrealDB schema and reviewed two pull requests about TypeScript types.' },
    { title: 'Fixed the flaky CI job', content: 'Found a race in the job queue tests; made lease expiry deterministic and documented it.' },
  ];
  const evidence = { name: 'evidence.txt', mimeType: 'text/plain', buffer: Buffer.from('Benchmark: export of 100k invoices in 2.1 s, 40 MB peak.\n') };
  const onePager = {
    name: 'brief.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from(
      '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
        '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n' +
        '4 0 obj<</Length 37>>stream\nBT /F1 24 Tf 20 100 Td (Brief) Tj ET\nendstream endobj\n' +
        '5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
    ),
  };
  const screenshot = {
    name: 'chart.png',
    mimeType: 'image/png',
    buffer: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'),
  };
  await step('work log: three entries through the editor, one with a file chosen before the first save', async () => {
    for (const e of entries) {
      await owner.goto('/worklogs');
      await action(owner, 'New entry').click();
      await owner.waitForURL(/\/worklogs\/new$/);
      await owner.getByRole('heading', { name: 'New entry', level: 1 }).waitFor();
      await fillByLabel(owner, 'Title', e.title);
      await fillByLabel(owner, 'What did you do?', e.content);
      await byLabel(owner, 'Tags').fill('e2e');
      await byLabel(owner, 'Tags').press('Enter');
      if (e.outcome) await fillByLabel(owner, 'Outcome / impact', e.outcome);
      if (e.attach) {
        // Evidence chosen while writing, attached with the first save.
        const chooser = owner.waitForEvent('filechooser');
        await owner.getByText('Choose files…', { exact: true }).click();
        await (await chooser).setFiles([evidence, screenshot, onePager]);
        await owner.getByRole('list', { name: 'Files to attach' }).getByText(evidence.name).waitFor();
      }
      await owner.getByRole('button', { name: 'Save entry', exact: true }).click();
      // Saving replaces /worklogs/new with /worklogs/<id> (the editor of the saved entry).
      await owner.waitForURL((u) => /^\/worklogs\/[^/]+$/.test(u.pathname) && !u.pathname.endsWith('/new'));
      await owner.getByRole('heading', { name: 'Edit entry', level: 1 }).waitFor();
      if (e.attach) {
        state.entryId = new URL(owner.url()).pathname.split('/').pop();
        // The uploaded files are listed with their own Download buttons; the image
        // with a thumbnail.
        await owner.getByRole('button', { name: `Download ${evidence.name}` }).waitFor();
        const thumb = owner.getByRole('img', { name: `Preview of ${screenshot.name}` });
        await thumb.waitFor();
        await waitUntil(() => thumb.evaluate((img) => img.complete && img.naturalWidth > 0), { timeout: 10000, message: 'the thumbnail loads' });
        const page = owner.getByRole('img', { name: `First page of ${onePager.name}` });
        await page.waitFor({ timeout: 20000 });
        await waitUntil(() => page.evaluate((img) => img.complete && img.naturalWidth > 0), { timeout: 10000, message: 'the PDF preview loads' });
        await shot(owner, 'worklog-attachment-previews');
      }
    }
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Work log' }).click();
    for (const e of entries) await owner.getByRole('link', { name: e.title, exact: true }).waitFor();
  });

  await step('work log: search finds words by their beginning ("surreal" finds "SurrealDB")', async () => {
    // The first search builds the in-memory index (the database's index matches whole
    // words only until it is ready), so ask until the prefix answers.
    await waitUntil(async () => {
      await owner.goto('/worklogs?q=surreal');
      await settle(owner);
      return (await owner.getByRole('link', { name: entries[1].title, exact: true }).count()) > 0;
    }, { timeout: 20000, interval: 500, message: 'a prefix search hit' });
    if (await owner.getByRole('link', { name: entries[0].title, exact: true }).count()) throw new Error('a prefix search matched an unrelated entry');
  });

  await step('dashboard shows XP > 0 and a streak (async reward evaluation)', async () => {
    const nav = owner.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Dashboard' }).click();
    await owner.getByRole('heading', { name: `Welcome, ${OWNER.name}` }).waitFor();
    const xpBar = owner.getByRole('progressbar', { name: 'Entry XP today, against the daily cap', exact: true });
    const streakText = owner.getByText(/^\d+ days? streak$/);
    let tries = 0;
    const reading = await waitUntil(
      async () => {
        // Rewards are evaluated by a job; the dashboard refreshes on its own after a save,
        // and re-entering it (SPA navigation, no reload) reloads it anyway.
        if (++tries % 6 === 0) {
          await nav.getByRole('link', { name: 'Work log' }).click();
          await nav.getByRole('link', { name: 'Dashboard' }).click();
        }
        const xp = parseInt((await xpBar.getAttribute('aria-valuenow', { timeout: 2000 })) ?? '', 10);
        const streak = parseInt((await streakText.textContent({ timeout: 2000 })) ?? '', 10);
        return xp > 0 && streak >= 1 ? { xp, streak } : null;
      },
      { timeout: 30000, interval: 500, message: "dashboard Today's XP > 0 and a streak >= 1 day" },
    );
    log(`  dashboard: ${reading.xp} XP today, streak ${reading.streak}`);
    await shot(owner, 'dashboard-rewards');
    await a11y(owner, 'dashboard-rewards');
  });

  await step('numbers add up: dashboard, ledger and achievements agree, rules said, unlocks announced once', async () => {
    const token = state.ownerToken;
    // Badges earned by the entries above are announced, until dismissed.
    const notice = owner.getByRole('region', { name: /^(\d+ )?unlocked$/i });
    await notice.waitFor({ timeout: 30000 });
    await notice.getByText('First Entry').waitFor();
    await shot(owner, 'unlock-notice');
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await notice.waitFor({ state: 'detached' });
    await waitUntil(async () => (await apiCall('GET', '/gamification/unlocks', { token })).items.length === 0, {
      timeout: 10000,
      message: 'the dismissed unlocks are marked seen',
    });
    await owner.reload();
    await owner.getByRole('heading', { name: `Welcome, ${OWNER.name}` }).waitFor();
    await settle(owner);
    if (await notice.count()) throw new Error('the unlock notice came back after a reload');

    // Today's entry XP, the days and the ledger are one set of numbers.
    const summary = await apiCall('GET', '/gamification/summary', { token });
    const days = (await apiCall('GET', '/gamification/days?days=30', { token })).items;
    const ledger = (await apiCall('GET', '/gamification/ledger?limit=200', { token })).items;
    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
    if (days[days.length - 1].entry !== summary.today_xp) throw new Error(`days say ${days[days.length - 1].entry} entry XP today, the summary ${summary.today_xp}`);
    if (sum(days.map((d) => d.total)) !== summary.total_xp || sum(ledger.map((l) => l.amount)) !== summary.total_xp) {
      throw new Error(`XP totals disagree: summary ${summary.total_xp}, days ${sum(days.map((d) => d.total))}, ledger ${sum(ledger.map((l) => l.amount))}`);
    }
    const shown = (await owner.getByTestId('entry-xp-today').innerText()).trim();
    if (shown !== `${summary.today_xp} / ${summary.daily_xp_cap}`) throw new Error(`the dashboard shows ${shown}, the server ${summary.today_xp}`);
    const how = owner.getByText('How streaks work');
    await how.click();
    await owner.getByText(/backdating an entry doesn't fill a past day/).waitFor();

    // A locked badge says what it still needs, agreeing with its bar.
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Achievements' }).click();
    await owner.getByRole('heading', { name: 'Achievements', level: 1 }).waitFor();
    const board = await apiCall('GET', '/gamification/badges', { token });
    const ten = board.groups.flatMap((g) => g.badges).find((b) => b.code === 'entries_10');
    const left = ten.target - ten.progress;
    await owner.getByText(`Still needs ${left} more meaningful ${left === 1 ? 'entry' : 'entries'}.`).waitFor();
    const bar = owner.getByRole('progressbar', { name: `Progress towards ${ten.name}` });
    if (Number(await bar.getAttribute('aria-valuenow')) !== ten.progress) throw new Error(`${ten.name}: bar and API disagree`);
    const rules = owner.getByRole('region', { name: 'How rewards work' });
    await rules.getByText('Imported entries', { exact: true }).waitFor();
    await settle(owner);
    await a11y(owner, 'achievements-rules');
    await shot(owner, 'achievements-rules');

    // The entry says what it earned: the ledger's sum for it.
    const first = await apiCall('GET', `/worklogs?q=${encodeURIComponent('billing export')}`, { token });
    const id = first.items[0].id;
    const earned = sum(ledger.filter((l) => l.source.entry_id === id).map((l) => l.amount));
    await owner.goto(`/worklogs/${id}`);
    await owner.getByRole('region', { name: 'Rewards' }).getByText(`Earned ${earned} XP.`).waitFor();
    await owner.getByRole('region', { name: 'Rewards' }).getByText(/It counts for your streak on/).waitFor();
    await shot(owner, 'entry-reward');
  });

  await step('skills: extract skills through the UI, follow the job, see them appear', async () => {
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Skills' }).click();
    await owner.getByRole('heading', { name: 'Skills', level: 1 }).waitFor();
    const events = jobEvents(owner);
    await owner.getByRole('button', { name: 'Extract skills', exact: true }).click();
    await owner.getByRole('progressbar', { name: 'Extracting skills' }).waitFor();
    await events;
    await owner.getByRole('progressbar', { name: 'Extracting skills' }).waitFor({ state: 'detached', timeout: 90000 });
    const result = await owner.locator('.extract-result[role=status]').textContent();
    if (/failed/i.test(result ?? '')) throw new Error(`skill extraction: ${result}`);
    log(`  ${result?.trim()}`);
    await owner.getByRole('list', { name: 'Skills' }).getByRole('link').first().waitFor();
  });

  await step('reports: generate through the UI, follow the job, open it, create a share link', async () => {
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
    await owner.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    await owner.getByRole('button', { name: 'Generate report', exact: true }).click();
    const form = owner.locator('form', { has: owner.getByRole('heading', { name: 'Generate a report' }) });
    // "Status" covers the last 14 days including today (a weekly report on a Monday is last week's).
    await form.getByRole('radio', { name: 'Status' }).check();
    const events = jobEvents(owner);
    await form.getByRole('button', { name: 'Generate', exact: true }).click();
    await events;
    // When the job succeeds the list opens the report.
    await owner.waitForURL(/\/reports\/[^/]+$/, { timeout: 90000 });
    state.reportId = new URL(owner.url()).pathname.split('/').pop();
    await owner.locator('article.doc').waitFor();
    const text = await owner.locator('article.doc').innerText();
    if (text.trim().length < 40) throw new Error(`the report looks empty: ${JSON.stringify(text)}`);
    const share = owner.getByRole('region', { name: 'Share' });
    await share.getByRole('button', { name: 'Create link', exact: true }).click();
    const url = await share.getByRole('textbox', { name: 'Share link' }).inputValue();
    const m = /\/share\/([A-Za-z0-9_-]{8,})$/.exec(url);
    if (!m || !url.startsWith(BASE)) throw new Error(`unexpected share link: ${url}`);
    state.shareToken = m[1];
    await share.getByText(/^Active$/).first().waitFor();
  });

  await step('share link opens in a fresh logged-out browser', async () => {
    if (!state.shareToken) throw new Error('no share token from the previous step');
    const pub = await newPage('public');
    current = pub;
    await pub.goto(`/share/${state.shareToken}`);
    await pub.locator('article h1').first().waitFor();
    const body = await pub.locator('article').first().innerText();
    if (body.trim().length < 40) throw new Error(`shared report looks empty: ${JSON.stringify(body)}`);
    if (pub.url().includes('/login')) throw new Error('share link redirected to login');
    await a11y(pub, 'share');
    await shot(pub, 'share');
    await pub.context().close();
    current = owner;
  });

  await step("report: correct a bullet and its sources, regenerate a section, compare and restore a version", async () => {
    if (!state.reportId) throw new Error('no report from the reports step');
    await owner.goto(`/reports/${state.reportId}`);
    await owner.locator('article.doc').waitFor();
    await owner.getByRole('button', { name: 'Edit report', exact: true }).click();
    const editor = owner.getByRole('form', { name: 'Edit report' });
    await editor.waitFor();
    // The first bullet: rewrite it, swap its source for another entry of the period.
    const bullet = editor.getByRole('textbox', { name: /^Bullet 1 of / }).first();
    const label = await bullet.getAttribute('aria-label');
    const heading = label.replace(/^Bullet 1 of /, '');
    if ((await editor.getByTestId('origin-0-0').count()) && (await editor.locator('.origin').first().innerText()) !== 'AI draft') {
      throw new Error('a fresh report bullet is not marked as the AI draft');
    }
    const mine = 'Cut the export time from 40 s to 4 s for finance';
    await bullet.fill(mine);
    const sources = editor.getByRole('list', { name: `Sources of bullet 1 of ${heading}` });
    const before = await sources.getByRole('listitem').count();
    await sources.getByRole('button', { name: /^Remove source / }).first().click();
    const add = editor.getByRole('combobox', { name: `Add a source to bullet 1 of ${heading}` });
    const value = await add.locator('option').nth(1).getAttribute('value');
    await add.selectOption(value);
    await editor.getByRole('list', { name: `Sources of bullet 1 of ${heading}` }).getByRole('listitem').nth(before - 1).waitFor();
    await a11y(owner, 'report-edit');
    await shot(owner, 'report-edit');
    await editor.getByRole('button', { name: 'Save changes' }).click();
    await editor.waitFor({ state: 'detached' });
    await owner.locator('article.doc').getByText(mine).waitFor();
    await owner.getByTestId('report-provenance').getByText(/^1 of \d+ bullets are your words/).waitFor();
    // Downloads render the corrected version.
    const md = await (await fetch(`${API}/api/reports/${state.reportId}/export?format=md`, { headers: { authorization: `Bearer ${state.ownerToken}` } })).text();
    if (!md.includes(mine)) throw new Error(`the Markdown download lacks the correction:\n${md}`);

    // Regenerate one section: a new version, the corrected bullet kept.
    const sections = (await apiCall('GET', `/reports/${state.reportId}`, { token: state.ownerToken })).draft.sections;
    const other = sections.length - 1;
    await owner.getByRole('combobox', { name: 'What to regenerate' }).selectOption(String(other));
    await owner.getByRole('button', { name: 'Regenerate', exact: true }).click();
    const progress = owner.getByRole('progressbar', { name: `Rewriting “${sections[other].heading}”` });
    await progress.waitFor();
    await progress.waitFor({ state: 'detached', timeout: 90000 });
    await owner.getByTestId('report-provenance').getByText(/Version 3/).waitFor();
    await owner.locator('article.doc').getByText(mine).waitFor();
    const versions = owner.getByRole('region', { name: 'Versions' });
    await versions.getByText(`Regenerated “${sections[other].heading}”`).waitFor();

    // Compare version 1 with the current text, then restore it.
    await versions.getByRole('listitem').filter({ hasText: 'Version 1' }).getByRole('button', { name: 'Compare with current' }).click();
    const diff = owner.getByRole('region', { name: 'Changes from version 1 to the current one' });
    await diff.getByText(mine, { exact: false }).waitFor();
    await settle(owner);
    await a11y(owner, 'report-versions');
    await shot(owner, 'report-versions');
    await versions.getByRole('button', { name: 'Restore version 1' }).click();
    await owner.getByTestId('report-provenance').getByText(/Version 4/).waitFor();
    await waitUntil(async () => !(await owner.locator('article.doc').innerText()).includes(mine), { timeout: 10000, message: 'the restored text' });
  });

  await step('resume: every section edited in place with a live preview, kept, and the compact template', async () => {
    const token = state.ownerToken;
    const job = await apiCall('POST', '/resume/refresh', { token });
    await waitUntil(async () => (await apiCall('GET', `/jobs/${job.id}`, { token })).status === 'succeeded', {
      timeout: 60000,
      message: 'the resume job',
    });
    await owner.goto('/resume');
    await owner.getByRole('button', { name: 'Edit sections', exact: true }).click();
    const form = owner.getByRole('form', { name: 'Edit resume sections' });
    const preview = owner.getByRole('region', { name: 'Preview' });
    const highlights = form.getByRole('textbox', { name: 'Work 1: Highlights' });
    await highlights.fill(`${await highlights.inputValue()}\nRan the billing export rollout`);
    await preview.getByText('Ran the billing export rollout').waitFor();
    await form.getByRole('button', { name: 'Add a project' }).click();
    await form.getByRole('textbox', { name: /^Projects \d+: Name$/ }).last().fill('Invoice streamer');
    await preview.getByText('Invoice streamer').waitFor();
    await form.getByRole('button', { name: 'Add a skill' }).click();
    await form.getByRole('textbox', { name: /^Skills \d+: Skill$/ }).last().fill('Rust');
    await form.getByRole('textbox', { name: /^Skills \d+: Keywords$/ }).last().fill('tokio, axum');
    await preview.getByText('axum', { exact: true }).waitFor();
    await form.getByRole('checkbox', { name: 'Hide Education' }).check();
    await settle(owner);
    await a11y(owner, 'resume-sections');
    await shot(owner, 'resume-sections');
    await form.getByRole('button', { name: 'Save sections' }).click();
    await form.waitFor({ state: 'detached' });
    await owner.locator('.doc').getByText('Invoice streamer').waitFor();
    // Kept on the server, and in the compact template's download.
    const doc = (await apiCall('GET', '/resume', { token })).resume;
    if (!JSON.stringify(doc.work).includes('Ran the billing export rollout')) throw new Error('the work highlight was not saved');
    const html = await (await fetch(`${API}/api/resume/export?format=html&template=compact`, { headers: { authorization: `Bearer ${token}` } })).text();
    if (!html.includes('doc-compact') || !html.includes('Invoice streamer') || !html.includes('Rust')) throw new Error('the compact HTML lacks the edits');
  });

  await step('owner invites a read-only member (passkey shown once)', async () => {
    await owner.goto('/tenant');
    await owner.getByRole('heading', { name: 'Invitations', exact: true }).waitFor();
    await owner.getByRole('combobox', { name: /^Role\s*\*?$/ }).selectOption('read_only');
    await owner.getByLabel('Email (optional)').fill(READER.email);
    await owner.getByRole('button', { name: 'Create invitation' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Invitation created' });
    await dialog.waitFor();
    await dialog.getByText("You won't see it again").waitFor();
    state.readerPasskey = await dialog.getByLabel('Passkey', { exact: true }).inputValue();
    state.readerLink = await dialog.getByLabel('Sign-up link').inputValue();
    if (!state.readerPasskey || !state.readerLink.endsWith(`/signup?passkey=${encodeURIComponent(state.readerPasskey)}`)) {
      throw new Error(`bad passkey/link in the modal: ${state.readerPasskey} ${state.readerLink}`);
    }
    await a11y(owner, 'tenant-passkey-modal');
    await shot(owner, 'tenant-passkey-modal');
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    if (await owner.getByText(state.readerPasskey).count()) throw new Error('the passkey is still shown after closing the modal');
    await owner.locator('tr', { hasText: 'Read-only' }).filter({ hasText: 'Pending' }).first().waitFor();
  });

  const reader = await newPage('reader');
  await step('read-only member signs up and sees no write controls', async () => {
    current = reader;
    await reader.goto(new URL(state.readerLink).pathname + new URL(state.readerLink).search);
    await fillByLabel(reader, 'Your name', READER.name);
    await fillByLabel(reader, 'Email', READER.email);
    await fillByLabel(reader, 'Password', READER.password);
    await reader.getByRole('button', { name: 'Create account' }).click();
    await reader.getByRole('heading', { name: `Welcome, ${READER.name}` }).waitFor();
    await settle(reader);
    if (await action(reader, 'New entry').count()) throw new Error('dashboard shows "New entry" to a read-only member');
    if (await reader.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workspace' }).count()) throw new Error('read-only member sees the Workspace nav link');
    await reader.goto('/tenant');
    await reader.getByText(/not found/i).first().waitFor();
    await reader.goto('/worklogs');
    // Wait for the list (the owner's entries) before checking what is missing.
    await reader.getByRole('link', { name: entries[0].title, exact: true }).waitFor();
    await settle(reader);
    await a11y(reader, 'worklogs-read-only');
    await shot(reader, 'worklogs-read-only');
    const none = async (what, loc) => {
      if (await loc.count()) throw new Error(`a read-only member sees ${what}`);
    };
    await none('"New entry" on the work log', action(reader, 'New entry'));
    await none('"Import" on the work log', action(reader, 'Import'));
    // The entry opens as a document: no form, no upload, no delete; attachments can be downloaded.
    await reader.getByRole('link', { name: entries[0].title, exact: true }).click();
    await reader.getByRole('heading', { name: entries[0].title, level: 1 }).waitFor();
    await reader.getByRole('button', { name: `Download ${evidence.name}` }).waitFor();
    await settle(reader);
    await a11y(reader, 'worklog-read-only');
    await shot(reader, 'worklog-read-only');
    await none('an editable field on an entry', reader.getByRole('textbox'));
    await none('a save button on an entry', reader.getByRole('button', { name: /^Save/ }));
    await none('"Choose files…" on an entry', reader.getByRole('button', { name: 'Choose files…' }));
    await none('a delete button on an entry', reader.getByRole('button', { name: /^Delete/ }));
    // Skills: no extraction, no review buttons.
    await reader.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Skills' }).click();
    await reader.getByRole('heading', { name: 'Skills', level: 1 }).waitFor();
    await settle(reader);
    await none('"Extract skills"', reader.getByRole('button', { name: 'Extract skills' }));
    await none('skill review buttons', reader.getByRole('button', { name: /^(Confirm|Reject) / }));
    // Reports: the workspace's report is readable, but nothing can be generated, shared or deleted.
    await reader.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).click();
    await reader.getByRole('list', { name: 'Reports' }).getByRole('link').first().click();
    await reader.locator('article.doc').waitFor();
    await none('"Generate report"', action(reader, 'Generate report'));
    await none('"Create link" on a report', reader.getByRole('button', { name: 'Create link' }));
    await none('"Delete report"', reader.getByRole('button', { name: 'Delete report' }));
    // Owner sees the new member with the read-only role.
    await owner.goto('/tenant');
    await owner.locator('tr', { hasText: READER.email }).first().waitFor();
    const sel = owner.getByLabel(`Role of ${READER.name}`);
    if ((await sel.inputValue()) !== 'read_only') throw new Error('member list does not show the read-only role');
    current = owner;
  });

  await step('the first-steps list completes: entry, outcome, evidence, invitation, report', async () => {
    await owner.goto('/');
    await owner.getByRole('region', { name: 'Today' }).getByText(/You logged \d+ entr/).waitFor();
    // All five done: the list is gone.
    await owner.getByRole('region', { name: 'Recent entries' }).waitFor();
    await settle(owner);
    if (await owner.getByRole('region', { name: 'Get started' }).count()) {
      throw new Error(`the first steps are still listed: ${await owner.getByRole('region', { name: 'Get started' }).innerText()}`);
    }
    const o = await apiCall('GET', '/me/onboarding', { token: state.ownerToken });
    if (!(o.first_entry && o.outcome && o.evidence && o.invited && o.first_report)) throw new Error(`onboarding: ${JSON.stringify(o)}`);
  });

  const member = await newPage('member', { width: 390, height: 844 }, { timezoneId: 'Europe/Berlin' });
  await step("a member sees who wrote what; another member's entry opens as a read view", async () => {
    const inv = await apiCall('POST', '/invitations', { token: state.ownerToken, body: { role: 'member', email: MEMBER.email } });
    await apiCall('POST', '/auth/signup', { body: { passkey: inv.passkey, email: MEMBER.email, password: MEMBER.password, display_name: MEMBER.name } });
    current = member;
    await member.goto('/login');
    await fillByLabel(member, 'Email', MEMBER.email);
    await fillByLabel(member, 'Password', MEMBER.password);
    await member.getByRole('button', { name: 'Sign in' }).click();
    await member.getByRole('heading', { name: `Welcome, ${MEMBER.name}` }).waitFor();
    // On a phone the first action is above the fold, and the member (who can't invite)
    // has four first steps.
    const first = member.getByRole('link', { name: "Log today's work" });
    const box = await first.boundingBox();
    if (!box || box.y + box.height > 844) throw new Error(`"Log today's work" is below the fold at 390×844: ${JSON.stringify(box)}`);
    await member.getByRole('region', { name: 'Get started' }).getByText('0 of 4 done').waitFor();
    // The browser is in Berlin, the profile in UTC: offered once, and taken.
    const tz = member.getByRole('region', { name: 'Time zone' });
    await tz.getByText('Europe/Berlin').first().waitFor();
    await a11y(member, 'mobile-dashboard-first-run');
    await shot(member, 'mobile-dashboard-first-run');
    await tz.getByRole('button', { name: 'Use Europe/Berlin' }).click();
    await tz.waitFor({ state: 'detached' });
    const profile = await apiCall('GET', '/me', { token: await login(MEMBER) });
    if (profile.timezone !== 'Europe/Berlin') throw new Error(`the member's time zone is ${profile.timezone}`);
    await member.setViewportSize({ width: 1280, height: 900 });
    await member.goto('/worklogs');
    const row = member.locator('li', { has: member.getByRole('link', { name: entries[0].title, exact: true }) });
    await row.getByText(`By ${OWNER.name}`).waitFor();
    await member.getByRole('link', { name: entries[0].title, exact: true }).click();
    await member.getByRole('heading', { name: entries[0].title, level: 1 }).waitFor();
    await member.getByText(`by ${OWNER.name}`).first().waitFor();
    await member.getByRole('button', { name: `Download ${evidence.name}` }).waitFor();
    await settle(member);
    await a11y(member, 'worklog-member-read-view');
    await shot(member, 'worklog-member-read-view');
    const none = async (what, loc) => {
      if (await loc.count()) throw new Error(`a member sees ${what} on another member's entry`);
    };
    await none('an editable field', member.getByRole('textbox'));
    await none('a save button', member.getByRole('button', { name: /^Save/ }));
    await none('"Choose files…"', member.getByRole('button', { name: 'Choose files…' }));
    await none('a delete button', member.getByRole('button', { name: /^Delete/ }));
    // Their own new entry is a form, and reports name their author too.
    await member.goto('/worklogs/new');
    await member.getByRole('heading', { name: 'New entry', level: 1 }).waitFor();
    await member.locator('#entry-content').waitFor();
    await member.goto('/reports');
    await member.getByRole('list', { name: 'Reports' }).getByText(`by ${OWNER.name}`).first().waitFor();
    await member.close();
    current = owner;
  });

  await step('a failed job exists (diagnostics.echo fail_permanently)', async () => {
    const kinds = await apiCall('GET', '/jobs/kinds', { token: state.ownerToken });
    if (!kinds.items.some((k) => k.kind === 'diagnostics.echo')) throw new Error('diagnostics.echo is not an enqueueable job kind');
    const acc = await apiCall('POST', '/jobs', { token: state.ownerToken, body: { kind: 'diagnostics.echo', payload: { fail_permanently: true } } });
    const job = await waitJob(state.ownerToken, acc.id, { timeout: 30000 });
    if (job.status !== 'failed') throw new Error(`expected the job to fail, got ${job.status}`);
    state.failedJob = job.id;
  });

  const staff = await newPage('staff');
  await step('staff signs in, retries the failed job in admin/jobs, sees the status change', async () => {
    current = staff;
    await staff.goto('/login');
    await fillByLabel(staff, 'Email', STAFF.email);
    await fillByLabel(staff, 'Password', STAFF.password);
    await staff.getByRole('button', { name: 'Sign in' }).click();
    await staff.getByRole('heading', { name: `Welcome, ${STAFF.name}` }).waitFor();
    await staff.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await staff.getByRole('heading', { name: 'Admin', level: 1 }).waitFor();
    await staff.getByRole('link', { name: 'Jobs', exact: true }).click();
    await staff.getByRole('combobox', { name: 'Status', exact: true }).selectOption('failed');
    const row = staff.locator(`tr[data-job-id="${state.failedJob}"]`);
    const status = row.locator('[data-testid="job-status"]');
    await waitUntil(async () => (await status.textContent())?.trim() === 'failed', { message: 'the failed job row' });
    await shot(staff, 'admin-jobs-failed');
    await row.getByRole('button', { name: /^Retry/ }).click();
    const seen = await waitUntil(
      async () => {
        const s = (await status.textContent())?.trim();
        return s && s !== 'failed' ? s : null;
      },
      { timeout: 10000, interval: 50, message: 'the row status to leave "failed" after Retry' },
    );
    log(`  status after Retry: ${seen}`);
    await staff.getByText('re-queued').first().waitFor();
    // It fails again (fail_permanently); the row follows it without a reload.
    await waitUntil(async () => (await status.textContent())?.trim() === 'failed', { timeout: 30000, message: 'the retried job to settle as failed again' });
    current = owner;
  });

  // --- visit every page
  await step('page tour: owner pages (desktop)', async () => {
    const skillId = (await apiCall('GET', '/skills', { token: state.ownerToken })).items[0]?.id;
    if (!skillId) throw new Error('the owner has no skills');
    state.ownerPages = [
      ['/', 'dashboard'],
      ['/worklogs', 'worklogs'],
      ['/worklogs/new', 'worklog-new'],
      [`/worklogs/${state.entryId}`, 'worklog-edit'],
      ['/worklogs/import', 'worklog-import'],
      ['/skills', 'skills'],
      [`/skills/${skillId}`, 'skill-detail'],
      ['/reports', 'reports'],
      [`/reports/${state.reportId}`, 'report-view'],
      ['/resume', 'resume'],
      ['/achievements', 'achievements'],
      ['/challenges', 'challenges'],
      ['/settings', 'settings'],
      ['/tenant', 'tenant'],
    ];
    for (const [url, name] of state.ownerPages) await visit(owner, url, name);
  });

  await step('page tour: admin pages (staff, desktop)', async () => {
    state.adminPages = [
      ['/admin', 'admin-overview'],
      ['/admin/jobs', 'admin-jobs'],
      [`/admin/jobs/${state.failedJob}`, 'admin-job-detail'],
      ['/admin/events', 'admin-events'],
      ['/admin/users', 'admin-users'],
      ['/admin/audit', 'admin-audit'],
      ['/admin/gamification', 'admin-gamification'],
    ];
    for (const [url, name] of state.adminPages) await visit(staff, url, name);
    await staff.getByRole('heading', { name: 'Reward rules', exact: true }).waitFor();
    // The job detail shows the retry in its event timeline.
    await staff.goto(`/admin/jobs/${state.failedJob}`);
    await staff.getByText('requeued by staff').first().waitFor();
    // Owners are not staff: /admin is a 404 for them.
    await owner.goto('/admin');
    await owner.getByText(/not found/i).first().waitFor();
  });

  await step('admin: reward rules are a form (checked, then published as the next version)', async () => {
    const token = await login(STAFF);
    const before = await apiCall('GET', '/admin/gamification/config', { token });
    await staff.goto('/admin/gamification');
    const form = staff.locator('form.rules');
    await form.waitFor();
    // Every numeric rule of the real config has its field.
    const numeric = Object.entries(before.active.config).filter(([k, v]) => typeof v === 'number' && k !== 'version');
    const inputs = await form.locator('fieldset:not(.challenges) input[type="number"]').count();
    if (inputs !== numeric.length) throw new Error(`the form has ${inputs} number fields for ${numeric.length} numeric rules`);
    // A cap below its unit is refused before anything is sent.
    await fillByLabel(staff, 'Tags at most', '1');
    await form.getByText('Not below the XP per tag.').waitFor();
    await fillByLabel(staff, 'Tags at most', String(before.active.config.max_tag_xp));
    await fillByLabel(staff, 'Any meaningful entry', String(before.active.config.base_xp + 2));
    // Weekly challenges are a form too: a week has seven days, and a new one is added.
    const logDays = before.active.config.challenges.findIndex((c) => c.kind === 'log_days');
    await fillByLabel(staff, `Challenge ${logDays + 1}: goal`, '8');
    await form.getByText('Between 1 and 7.').waitFor();
    await fillByLabel(staff, `Challenge ${logDays + 1}: goal`, String(before.active.config.challenges[logDays].goal));
    await form.getByRole('button', { name: 'Add a challenge' }).click();
    const n = before.active.config.challenges.length + 1;
    await fillByLabel(staff, `Challenge ${n}: title`, 'Write 2 outcomes');
    await fillByLabel(staff, `Challenge ${n}: code`, 'write_2_outcomes');
    await fillByLabel(staff, `Challenge ${n}: goal`, '2');
    await fillByLabel(staff, `Challenge ${n}: XP`, '20');
    await a11y(staff, 'admin-reward-rules-form');
    await shot(staff, 'admin-reward-rules-form');
    await form.getByRole('button', { name: `Publish as version ${before.active.version + 1}` }).click();
    await staff.getByText(`Reward rules published as version ${before.active.version + 1}`).first().waitFor();
    const after = await apiCall('GET', '/admin/gamification/config', { token });
    if (after.active.version !== before.active.version + 1 || after.active.config.base_xp !== before.active.config.base_xp + 2) {
      throw new Error(`published config: version ${after.active.version}, base_xp ${after.active.config.base_xp}`);
    }
    const added = after.active.config.challenges.find((c) => c.code === 'write_2_outcomes');
    if (!added || added.goal !== 2 || added.xp_reward !== 20 || added.kind !== 'write_outcomes') {
      throw new Error(`published challenges: ${JSON.stringify(after.active.config.challenges)}`);
    }
    // Grant XP through the form: the member found by e-mail, the workspace by id.
    const ownerMe = await apiCall('GET', '/me', { token: state.ownerToken });
    const xpBefore = (await apiCall('GET', '/gamification/summary', { token: state.ownerToken })).total_xp;
    const adjust = staff.locator('form.xp-adjust');
    await adjust.getByLabel("Member's e-mail").fill(OWNER.email);
    await adjust.getByLabel('Workspace id').fill(ownerMe.tenant_id);
    await adjust.getByLabel('XP', { exact: true }).fill('25');
    await adjust.getByLabel('Reason').fill('Ran the release retrospective');
    await adjust.getByRole('button', { name: 'Grant XP' }).click();
    await staff.getByText(`Granted 25 XP to ${OWNER.name}`).first().waitFor();
    const xpAfter = (await apiCall('GET', '/gamification/summary', { token: state.ownerToken })).total_xp;
    if (xpAfter !== xpBefore + 25) throw new Error(`total XP ${xpBefore} -> ${xpAfter} after granting 25`);
  });

  await step('page tour: 390 px wide', async () => {
    await owner.setViewportSize({ width: 390, height: 844 });
    for (const [url, name] of state.ownerPages) await visit(owner, url, `mobile-${name}`);
    // The nav is behind the menu button.
    await owner.getByRole('button', { name: 'Menu' }).click();
    await owner.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Skills' }).click();
    await owner.waitForURL(/\/skills$/);
    await owner.setViewportSize({ width: 1280, height: 900 });
    await staff.setViewportSize({ width: 390, height: 844 });
    for (const [url, name] of state.adminPages) await visit(staff, url, `mobile-${name}`);
    await staff.setViewportSize({ width: 1280, height: 900 });
    await anon.setViewportSize({ width: 390, height: 844 });
    await visit(anon, '/login', 'mobile-login');
    await visit(anon, `/share/${state.shareToken}`, 'mobile-share');
  });

  await step('page tour: dark theme (prefers-color-scheme: dark)', async () => {
    // The theme follows the system unless the user picked one; contrast differs per theme.
    await owner.emulateMedia({ colorScheme: 'dark' });
    for (const [url, name] of [
      ['/', 'dark-dashboard'],
      ['/worklogs', 'dark-worklogs'],
      [`/worklogs/${state.entryId}`, 'dark-worklog-edit'],
      ['/skills', 'dark-skills'],
      ['/reports', 'dark-reports'],
      [`/reports/${state.reportId}`, 'dark-report-view'],
      ['/achievements', 'dark-achievements'],
      ['/tenant', 'dark-tenant'],
    ]) {
      await visit(owner, url, name);
    }
    await owner.emulateMedia({ colorScheme: 'light' });
    await staff.emulateMedia({ colorScheme: 'dark' });
    await visit(staff, '/admin/jobs', 'dark-admin-jobs');
    await visit(staff, `/admin/jobs/${state.failedJob}`, 'dark-admin-job-detail');
    await staff.emulateMedia({ colorScheme: 'light' });
    await anon.emulateMedia({ colorScheme: 'dark' });
    await visit(anon, '/login', 'dark-login');
    await visit(anon, `/share/${state.shareToken}`, 'dark-share');
    await anon.emulateMedia({ colorScheme: 'light' });
  });

  await step('keyboard: ?, g d / g w / g r, /, n + Ctrl+Enter, Ctrl+K', async () => {
    const p = owner;
    const blur = () => p.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined));
    const at = async (re) => p.waitForURL((u) => re.test(new URL(u).pathname));
    await p.goto('/');
    await settle(p);
    await p.keyboard.press('?');
    const help = p.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    await help.getByText('Go to the work log').waitFor();
    await a11y(p, 'shortcuts-help');
    await shot(p, 'shortcuts-help');
    await p.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    for (const [k, re] of [['w', /^\/worklogs$/], ['r', /^\/reports$/], ['d', /^\/$/]]) {
      await blur();
      await p.keyboard.press('g');
      await p.keyboard.press(k);
      await at(re);
      await settle(p);
    }
    await blur();
    await p.keyboard.press('/');
    await at(/^\/worklogs$/);
    await waitUntil(() => p.evaluate(() => document.activeElement?.getAttribute('type') === 'search'), { message: 'the search field focused' });
    // Typing in the field types: `n` does not leave the page.
    await p.keyboard.type('n');
    if (new URL(p.url()).pathname !== '/worklogs') throw new Error('typing "n" in the search field left the page');
    await blur();
    await p.keyboard.press('n');
    await at(/^\/worklogs\/new$/);
    await waitUntil(() => p.evaluate(() => document.activeElement?.id === 'entry-content'), { message: 'the content field focused' });
    await p.keyboard.type('Wrote the keyboard shortcuts and the command palette, saved with Ctrl+Enter.');
    await p.keyboard.press('Control+Enter');
    await at(/^\/worklogs\/[0-9a-f-]{36}$/);
    await p.getByText('Entry saved').first().waitFor();
    const created = new URL(p.url()).pathname;
    await p.keyboard.press('Control+k');
    const palette = p.getByRole('dialog', { name: 'Go to' });
    await palette.waitFor();
    await palette.getByRole('option', { name: entries[0].title }).waitFor();
    await p.keyboard.type(entries[0].title.slice(0, 12));
    await a11y(p, 'command-palette');
    await shot(p, 'command-palette');
    await p.keyboard.press('Enter');
    await palette.waitFor({ state: 'hidden' });
    await p.waitForURL((u) => /^\/worklogs\/[0-9a-f-]{36}$/.test(new URL(u).pathname) && new URL(u).pathname !== created);
    await waitUntil(async () => (await p.getByLabel('Title').inputValue()) === entries[0].title || (await p.locator('#entry-content').inputValue()).startsWith(entries[0].content.slice(0, 20)), { message: `the entry "${entries[0].title}" open` });
  });

  await step('20 rapid reloads in two tabs keep the session', async () => {
    // Every full page load renews the session with the shared refresh cookie; tabs take
    // turns, and nothing here may end up on the login page.
    const tab2 = await owner.context().newPage();
    watch(tab2, 'owner-tab2');
    trackRequests(tab2);
    await tab2.goto('/worklogs');
    await settle(tab2);
    const statuses = [];
    const count = (r) => {
      if (new URL(r.url()).pathname === '/api/auth/token/refresh') statuses.push(r.status());
    };
    owner.on('response', count);
    tab2.on('response', count);
    for (let i = 0; i < 20; i++) {
      // As F5 does: reload both tabs at once, whatever they are doing. Half the time the
      // next reload interrupts the app while it boots, half the time it has booted.
      for (const p of [owner, tab2]) await p.evaluate(() => location.reload()).catch(() => {});
      await sleep(i % 2 ? 150 : 700);
    }
    for (const [p, name] of [[owner, 'reload-tab1'], [tab2, 'reload-tab2']]) {
      await settle(p);
      await p.getByRole('navigation', { name: 'Main' }).waitFor();
      if (new URL(p.url()).pathname.startsWith('/login')) throw new Error(`${name} was logged out`);
      await shot(p, name);
    }
    owner.off('response', count);
    const refused = statuses.filter((s) => s !== 200);
    log(`  ${statuses.length} refreshes answered: ${statuses.length - refused.length} × 200${refused.length ? `, refused: ${refused.join(' ')}` : ''}`);
    if (statuses.filter((s) => s === 401).length) throw new Error(`refreshes answered 401: ${statuses.join(' ')}`);
    await tab2.close();
  });

  await step('no CSP violations, JS errors or accessibility problems', async () => {
    if (problems.length) {
      for (const p of problems) console.log(`  ✗ [${p.kind}] ${p.page}: ${p.detail}`);
      throw new Error(`${problems.length} problem(s): ${[...new Set(problems.map((p) => p.kind))].join(', ')}`);
    }
  });
}

// ---------------------------------------------------------------------------------------

let cleaning = null;
/** Close the browser, the proxy and the server, then remove the temp dir. Runs once. */
function cleanup() {
  cleaning ??= (async () => {
    await browser?.close().catch(() => {});
    proxyServer?.closeAllConnections?.();
    await new Promise((r) => (proxyServer ? proxyServer.close(() => r()) : r()));
    await stopServer().catch(() => {});
    if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

function summary(error) {
  const pad = (s, n) => String(s).padEnd(n);
  console.log('\n=== AfterResume browser e2e ===');
  console.log(`mode: ${state.mode ?? '?'}   base: ${BASE || '?'}   binary: ${BIN}`);
  for (const r of results) {
    const mark = r.status === 'ok' ? '✓' : '✗';
    console.log(`${mark} ${pad(r.name, 78)} ${pad((r.ms / 1000).toFixed(1) + 's', 7)} ${r.note ? ` ${r.note}` : ''}`);
  }
  const n = (s) => results.filter((r) => r.status === s).length;
  console.log(`\n${n('ok')} passed, ${n('fail')} failed in ${elapsed()}`);
  if (axeReport.length) {
    const flagged = axeReport.filter((r) => r.moderate || r.minor);
    console.log(`axe: ${axeReport.length} page checks; moderate/minor findings (not failures): ${flagged.length ? `${flagged.length} page(s)` : 'none'}`);
    for (const r of flagged) console.log(`  ${pad(r.page, 26)} moderate ${pad(r.moderate, 3)} minor ${pad(r.minor, 3)} ${[...r.rules].join(', ')}`);
  }
  console.log(`screenshots (${shots.length}) in ${SHOTS}:`);
  console.log('  ' + shots.map((f) => path.basename(f)).join(' '));
  if (error) {
    console.log(`\nFAILED: ${error instanceof Error ? error.message : error}`);
    {
      try {
        const tail = fs.readFileSync(serverLog, 'utf8').split('\n').slice(-25).join('\n');
        console.log(`\n--- server log (last lines; ${KEEP ? serverLog : 'set E2E_KEEP=1 to keep it'}) ---\n${tail}`);
      } catch {
        /* no log */
      }
    }
  }
}

// Last resort: never leave the server running (synchronous, so it works inside 'exit').
process.on('exit', () => {
  if (server) server.kill('SIGKILL');
});

let exiting = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (exiting) return;
    exiting = true;
    console.log(`\n${sig}: stopping`);
    await cleanup();
    process.exit(130);
  });
}

let failure = null;
try {
  await main();
} catch (e) {
  failure = e;
}
summary(failure);
await cleanup();
process.exit(failure || results.some((r) => r.status === 'fail') ? 1 : 0);
