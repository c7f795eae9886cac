// Reading a JSON Resume document (jsonresume.org v1.0.0) leniently, like the server's
// renderer: missing or wrongly typed fields are skipped. And building the PATCH body of
// the edit form (a JSON Resume fragment; `null` removes a field).

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, k: string): string | undefined => {
  const v = o[k];
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  return undefined;
};
const strs = (o: Obj, k: string): string[] => {
  const v = o[k];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '') : [];
};
const objs = (o: Obj, k: string): Obj[] => {
  const v = o[k];
  return Array.isArray(v) ? v.filter(isObj) : [];
};

export interface ResumeEntry {
  title?: string;
  subtitle?: string;
  url?: string;
  startDate?: string;
  endDate?: string;
  summary?: string;
  highlights: string[];
  keywords: string[];
}

export interface ResumeDoc {
  name?: string;
  label?: string;
  email?: string;
  phone?: string;
  url?: string;
  location?: string;
  summary?: string;
  profiles: { network?: string; username?: string; url?: string }[];
  work: ResumeEntry[];
  skills: { name?: string; level?: string; keywords: string[] }[];
  projects: ResumeEntry[];
  education: ResumeEntry[];
  certificates: { name: string; issuer?: string; date?: string; url?: string }[];
  languages: { language: string; fluency?: string }[];
}

function locationText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (!isObj(v)) return undefined;
  const parts = [str(v, 'address'), str(v, 'city'), str(v, 'region'), str(v, 'countryCode')].filter(Boolean);
  return parts.length ? parts.join(', ') : undefined;
}

/** Only http(s) links are rendered as links. */
export function safeUrl(u: string | undefined): string | undefined {
  return u && /^https?:\/\//i.test(u) ? u : undefined;
}

export function readResume(v: unknown): ResumeDoc | null {
  if (!isObj(v)) return null;
  const basics = isObj(v.basics) ? v.basics : {};
  return {
    name: str(basics, 'name'),
    label: str(basics, 'label'),
    email: str(basics, 'email'),
    phone: str(basics, 'phone'),
    url: str(basics, 'url'),
    location: locationText(basics.location),
    summary: str(basics, 'summary'),
    profiles: objs(basics, 'profiles').map((p) => ({ network: str(p, 'network'), username: str(p, 'username'), url: str(p, 'url') })),
    work: objs(v, 'work').map((w) => ({
      title: str(w, 'position'),
      subtitle: str(w, 'name') ?? str(w, 'company'),
      url: str(w, 'url') ?? str(w, 'website'),
      startDate: str(w, 'startDate'),
      endDate: str(w, 'endDate'),
      summary: str(w, 'summary'),
      highlights: strs(w, 'highlights'),
      keywords: [],
    })),
    skills: objs(v, 'skills').map((s) => ({ name: str(s, 'name'), level: str(s, 'level'), keywords: strs(s, 'keywords') })),
    projects: objs(v, 'projects').map((p) => ({
      title: str(p, 'name'),
      subtitle: strs(p, 'roles').join(', ') || undefined,
      url: str(p, 'url'),
      startDate: str(p, 'startDate'),
      endDate: str(p, 'endDate'),
      summary: str(p, 'description'),
      highlights: strs(p, 'highlights'),
      keywords: strs(p, 'keywords'),
    })),
    education: objs(v, 'education').map((e) => ({
      title: [str(e, 'studyType'), str(e, 'area')].filter(Boolean).join(', ') || undefined,
      subtitle: str(e, 'institution'),
      url: str(e, 'url'),
      startDate: str(e, 'startDate'),
      endDate: str(e, 'endDate'),
      summary: str(e, 'score') ? `Score: ${str(e, 'score')}` : undefined,
      highlights: [],
      keywords: strs(e, 'courses'),
    })),
    certificates: objs(v, 'certificates')
      .map((c) => ({ name: str(c, 'name') ?? '', issuer: str(c, 'issuer'), date: str(c, 'date'), url: str(c, 'url') }))
      .filter((c) => c.name),
    languages: objs(v, 'languages')
      .map((l) => ({ language: str(l, 'language') ?? '', fluency: str(l, 'fluency') }))
      .filter((l) => l.language),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2025-01-06` -> `Jan 2025`, `2025` -> `2025`; anything else as is. */
export function resumeDate(d: string | undefined): string | undefined {
  if (!d) return undefined;
  const m = /^(\d{4})(?:-(\d{2}))?/.exec(d);
  if (!m) return d;
  return m[2] ? `${MONTHS[Number(m[2]) - 1] ?? m[2]} ${m[1]}` : m[1];
}

export function dateRange(start?: string, end?: string): string | undefined {
  const s = resumeDate(start);
  const e = resumeDate(end);
  if (!s && !e) return undefined;
  return `${s ?? '…'} – ${e ?? 'present'}`;
}

// ---------------------------------------------------------------- editing

/** The editable `basics` fields of the form. */
export const BASICS_FIELDS = ['name', 'label', 'email', 'phone', 'url', 'city', 'summary'] as const;
export type BasicsField = (typeof BASICS_FIELDS)[number];
export type BasicsForm = Record<BasicsField, string>;

export const SUMMARY_LIMIT = 2000;

export function basicsForm(v: unknown): BasicsForm {
  const basics = isObj(v) && isObj(v.basics) ? v.basics : {};
  const loc = basics.location;
  const city = isObj(loc) ? str(loc, 'city') : typeof loc === 'string' ? loc : undefined;
  return {
    name: str(basics, 'name') ?? '',
    label: str(basics, 'label') ?? '',
    email: str(basics, 'email') ?? '',
    phone: str(basics, 'phone') ?? '',
    url: str(basics, 'url') ?? '',
    city: city ?? '',
    summary: typeof basics.summary === 'string' ? basics.summary : '',
  };
}

export function validateBasics(f: BasicsForm): Partial<Record<BasicsField, string>> {
  const e: Partial<Record<BasicsField, string>> = {};
  if (!f.name.trim()) e.name = 'Enter your name.';
  else if (f.name.trim().length > 200) e.name = 'At most 200 characters.';
  if (f.label.trim().length > 200) e.label = 'At most 200 characters.';
  if (f.email.trim() && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(f.email.trim())) e.email = 'Enter a valid email address.';
  if (f.phone.trim().length > 50) e.phone = 'At most 50 characters.';
  if (f.url.trim() && !/^https?:\/\/[^\s]+$/i.test(f.url.trim())) e.url = 'Enter a link starting with https://';
  if (f.city.trim().length > 200) e.city = 'At most 200 characters.';
  if (f.summary.length > SUMMARY_LIMIT) e.summary = `At most ${SUMMARY_LIMIT} characters.`;
  return e;
}

/**
 * The PATCH /resume body for what changed between `before` and `after`: changed fields
 * set, cleared fields `null` (removes them), unchanged fields left out. Null when nothing changed.
 */
export function basicsPatch(before: BasicsForm, after: BasicsForm): { basics: Record<string, unknown> } | null {
  const basics: Record<string, unknown> = {};
  for (const k of BASICS_FIELDS) {
    const a = k === 'summary' ? after[k].trim() : after[k].trim();
    const b = before[k].trim();
    if (a === b) continue;
    if (k === 'city') basics.location = a ? { city: a } : null;
    else basics[k] = a || null;
  }
  return Object.keys(basics).length ? { basics } : null;
}
