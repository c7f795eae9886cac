// Routes and guards.
//
// meta.public    -> no session needed (login, signup, shared documents)
// meta.guestOnly -> signed-in users are sent to the dashboard (login, signup)
// meta.admin     -> workspace owner/admin only
// meta.staff     -> platform staff only
// meta.title     -> document title
// Everything else requires a session. Views are lazy-loaded: `component: () => import(...)`.
import { createRouter, createWebHistory, type RouteLocationNormalized, type RouteRecordRaw } from 'vue-router';
import { configureAuth } from '@/api/client';
import { useAuthStore } from '@/stores/auth';

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean;
    guestOnly?: boolean;
    admin?: boolean;
    staff?: boolean;
    title?: string;
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/',
    component: () => import('@/layouts/AppLayout.vue'),
    children: [
      { path: '', name: 'dashboard', component: () => import('@/views/DashboardView.vue'), meta: { title: 'Dashboard' } },
      { path: 'worklogs', name: 'worklogs', component: () => import('@/views/worklogs/WorklogListView.vue'), meta: { title: 'Work log' } },
      { path: 'worklogs/import', name: 'worklog-import', component: () => import('@/views/worklogs/WorklogImportView.vue'), meta: { title: 'Import entries' } },
      { path: 'worklogs/new', name: 'worklog-new', component: () => import('@/views/worklogs/EntryEditorView.vue'), meta: { title: 'New entry' } },
      { path: 'worklogs/:id', name: 'worklog-edit', component: () => import('@/views/worklogs/EntryEditorView.vue'), props: true, meta: { title: 'Entry' } },
      { path: 'skills', name: 'skills', component: () => import('@/views/skills/SkillListView.vue'), meta: { title: 'Skills' } },
      { path: 'skills/:id', name: 'skill', component: () => import('@/views/skills/SkillDetailView.vue'), props: true, meta: { title: 'Skill' } },
      { path: 'reports', name: 'reports', component: () => import('@/views/reports/ReportListView.vue'), meta: { title: 'Reports' } },
      { path: 'reports/:id', name: 'report', component: () => import('@/views/reports/ReportDetailView.vue'), props: true, meta: { title: 'Report' } },
      { path: 'resume', name: 'resume', component: () => import('@/views/ResumeView.vue'), meta: { title: 'Resume' } },
      { path: 'achievements', name: 'achievements', component: () => import('@/views/AchievementsView.vue'), meta: { title: 'Achievements' } },
      { path: 'challenges', name: 'challenges', component: () => import('@/views/ChallengesView.vue'), meta: { title: 'Challenges' } },
      { path: 'settings', name: 'settings', component: () => import('@/views/SettingsView.vue'), meta: { title: 'Settings' } },
      { path: 'tenant', name: 'tenant', component: () => import('@/views/TenantView.vue'), meta: { title: 'Workspace', admin: true } },
      {
        path: 'admin',
        meta: { staff: true },
        children: [
          { path: '', name: 'admin', component: () => import('@/views/admin/AdminHomeView.vue'), meta: { title: 'Admin' } },
          { path: 'users', name: 'admin-users', component: () => import('@/views/admin/AdminUsersView.vue'), meta: { title: 'Users' } },
          { path: 'jobs', name: 'admin-jobs', component: () => import('@/views/admin/AdminJobsView.vue'), meta: { title: 'System jobs' } },
          { path: 'gamification', name: 'admin-gamification', component: () => import('@/views/admin/AdminGamificationView.vue'), meta: { title: 'Gamification' } },
          { path: 'jobs/:id', name: 'admin-job', component: () => import('@/views/admin/AdminJobDetailView.vue'), props: true, meta: { title: 'Job' } },
          { path: 'events', name: 'admin-events', component: () => import('@/views/admin/AdminEventsView.vue'), meta: { title: 'Events' } },
          { path: 'audit', name: 'admin-audit', component: () => import('@/views/admin/AdminAuditView.vue'), meta: { title: 'Audit log' } },
        ],
      },
    ],
  },
  {
    path: '/',
    component: () => import('@/layouts/PublicLayout.vue'),
    meta: { public: true },
    children: [
      { path: 'login', name: 'login', component: () => import('@/views/LoginView.vue'), meta: { title: 'Sign in', guestOnly: true } },
      { path: 'signup', name: 'signup', component: () => import('@/views/SignupView.vue'), meta: { title: 'Create account', guestOnly: true } },
      { path: 'share/:token', name: 'share', component: () => import('@/views/ShareView.vue'), props: true, meta: { title: 'Shared document' } },
      { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('@/views/NotFoundView.vue'), meta: { title: 'Not found' } },
    ],
  },
];

/** Only same-app paths are accepted as `?next=` (no open redirects). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** The guard, exported for tests. Returns true or where to go instead. */
export async function guard(to: RouteLocationNormalized) {
  const auth = useAuthStore();
  await auth.restore();
  if (to.meta.public) {
    if (to.meta.guestOnly && auth.isAuthenticated) return safeNext(to.query.next);
    return true;
  }
  if (!auth.isAuthenticated) return { name: 'login', query: { next: to.fullPath } };
  if (!auth.me) {
    try {
      await auth.loadMe();
    } catch {
      /* role checks below fall back to the token's role */
    }
  }
  if (to.meta.staff && !auth.isStaff) return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } };
  if (to.meta.admin && !auth.isAdmin) return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } };
  return true;
}

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
});

router.beforeEach(guard);
router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · AfterResume` : 'AfterResume';
});

// A 401 that a refresh could not fix: drop the session and go to the login page.
configureAuth({
  onExpired: () => {
    useAuthStore().clear();
    const current = router.currentRoute.value;
    if (!current.meta.public) void router.replace({ name: 'login', query: { next: current.fullPath } });
  },
});
