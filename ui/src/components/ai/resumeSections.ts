// Editing every section of the resume in place: work, projects, education and skills as
// forms (reorder, hide, add), their live preview, and the PATCH /resume fragment. Named
// items (work, projects, skills) merge with the generated ones by name on the server, so
// an item removed or renamed here is sent as `{name, hidden: true}`: it stays hidden on
// every refresh. A section hidden whole is sent as `[]`; "Use the generated section"
// sends `null` (the edit is dropped).

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export type SectionKey = 'work' | 'projects' | 'education' | 'skills';
export const SECTION_KEYS: SectionKey[] = ['work', 'projects', 'education', 'skills'];

export interface FieldDef {
  key: string;
  label: string;
  multiline?: boolean;
  hint?: string;
}

export interface SectionDef {
  title: string;
  item: string;
  fields: FieldDef[];
  /** One highlight per line. */
  highlights?: boolean;
  /** Comma-separated keywords. */
  keywords?: boolean;
  /** Items are matched by `name` when merged with the generated resume. */
  named: boolean;
}

const DATE_HINT = 'YYYY-MM or YYYY-MM-DD; leave End empty for “present”.';
export const SECTIONS: Record<SectionKey, SectionDef> = {
  work: {
    title: 'Work',
    item: 'position',
    named: true,
    highlights: true,
    fields: [
      { key: 'position', label: 'Role' },
      { key: 'name', label: 'Company' },
      { key: 'startDate', label: 'Start', hint: DATE_HINT },
      { key: 'endDate', label: 'End' },
      { key: 'summary', label: 'Summary', multiline: true },
    ],
  },
  projects: {
    title: 'Projects',
    item: 'project',
    named: true,
    highlights: true,
    fields: [
      { key: 'name', label: 'Name' },
      { key: 'description', label: 'Description', multiline: true },
      { key: 'url', label: 'Link', hint: 'https://…' },
      { key: 'startDate', label: 'Start', hint: DATE_HINT },
      { key: 'endDate', label: 'End' },
    ],
  },
  education: {
    title: 'Education',
    item: 'school',
    named: false,
    fields: [
      { key: 'institution', label: 'School' },
      { key: 'studyType', label: 'Degree' },
      { key: 'area', label: 'Field' },
      { key: 'startDate', label: 'Start', hint: DATE_HINT },
      { key: 'endDate', label: 'End' },
    ],
  },
  skills: {
    title: 'Skills',
    item: 'skill',
    named: true,
    keywords: true,
    fields: [
      { key: 'name', label: 'Skill' },
      { key: 'level', label: 'Level' },
    ],
  },
};

export interface ItemForm {
  key: number;
  fields: Record<string, string>;
  /** One per line. */
  highlights: string;
  /** Comma-separated. */
  keywords: string;
  /** Fields this form doesn't edit, kept as they were. */
  rest: Obj;
}

export interface SectionForm {
  items: ItemForm[];
  hidden: boolean;
}

export type SectionsForm = Record<SectionKey, SectionForm>;

let nextKey = 1;

function itemForm(def: SectionDef, v: Obj): ItemForm {
  const fields: Record<string, string> = {};
  const rest: Obj = { ...v };
  for (const f of def.fields) {
    const x = v[f.key];
    fields[f.key] = typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '';
    delete rest[f.key];
  }
  const list = (k: string) => (Array.isArray(v[k]) ? (v[k] as unknown[]).filter((s): s is string => typeof s === 'string') : []);
  if (def.highlights) delete rest.highlights;
  if (def.keywords) delete rest.keywords;
  return { key: nextKey++, fields, highlights: list('highlights').join('\n'), keywords: list('keywords').join(', '), rest };
}

export function newItem(section: SectionKey): ItemForm {
  return itemForm(SECTIONS[section], {});
}

/** The form of every section, from the resume as shown and the user's edits. */
export function sectionsForm(resume: unknown, manual: unknown): SectionsForm {
  const doc = isObj(resume) ? resume : {};
  const edits = isObj(manual) ? manual : {};
  const out = {} as SectionsForm;
  for (const k of SECTION_KEYS) {
    const items = Array.isArray(doc[k]) ? (doc[k] as unknown[]).filter(isObj) : [];
    const edit = edits[k];
    out[k] = {
      items: items.map((v) => itemForm(SECTIONS[k], v)),
      hidden: Array.isArray(edit) && edit.length === 0,
    };
  }
  return out;
}

/** A section's items as JSON Resume values (empty fields left out). */
export function sectionItems(section: SectionKey, form: SectionForm): Obj[] {
  const def = SECTIONS[section];
  return form.items.map((it) => {
    const v: Obj = { ...it.rest };
    for (const f of def.fields) {
      const t = (it.fields[f.key] ?? '').trim();
      if (t) v[f.key] = t;
    }
    if (def.highlights) {
      const h = it.highlights.split('\n').map((s) => s.trim()).filter(Boolean);
      if (h.length) v.highlights = h;
    }
    if (def.keywords) {
      const kw = it.keywords.split(',').map((s) => s.trim()).filter(Boolean);
      if (kw.length) v.keywords = kw;
    }
    return v;
  });
}

const nameOf = (v: Obj) => (typeof v.name === 'string' ? v.name.trim().toLowerCase() : '');

/** The PATCH /resume fragment for the sections that changed from `before`. */
export function sectionsPatch(before: SectionsForm, after: SectionsForm): Obj | null {
  const body: Obj = {};
  for (const k of SECTION_KEYS) {
    const was = before[k].hidden ? [] : sectionItems(k, before[k]);
    const now = after[k].hidden ? [] : sectionItems(k, after[k]);
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    if (after[k].hidden) {
      body[k] = [];
      continue;
    }
    const items: Obj[] = [...now];
    if (SECTIONS[k].named) {
      const kept = new Set(now.map(nameOf));
      for (const gone of was.map(nameOf).filter((n) => n && !kept.has(n))) {
        items.push({ name: gone, hidden: true });
      }
    }
    body[k] = items;
  }
  return Object.keys(body).length ? body : null;
}

/** The resume as it will read with the form's sections (the live preview). */
export function previewOf(resume: unknown, form: SectionsForm): Obj {
  const doc: Obj = isObj(resume) ? { ...resume } : {};
  for (const k of SECTION_KEYS) doc[k] = form[k].hidden ? [] : sectionItems(k, form[k]);
  return doc;
}

/** Problems that would make an item unreadable: a named item needs its name. */
export function sectionErrors(form: SectionsForm): string[] {
  const out: string[] = [];
  for (const k of SECTION_KEYS) {
    if (form[k].hidden) continue;
    const def = SECTIONS[k];
    const key = def.named ? 'name' : 'institution';
    form[k].items.forEach((it, i) => {
      if (!(it.fields[key] ?? '').trim()) out.push(`${def.title} ${i + 1}: ${def.fields.find((f) => f.key === key)?.label ?? key} is required.`);
    });
  }
  return out;
}
