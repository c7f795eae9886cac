// Convenience aliases for the generated OpenAPI types. Never hand-write request or
// response shapes: add an alias here (or use `Schemas['X']` inline) instead.
import type { components, paths } from './schema';

export type { components, paths };
export type Schemas = components['schemas'];

export type ErrorBody = Schemas['ErrorBody'];
export type ErrorCode = Schemas['ErrorCode'];
export type FieldIssue = Schemas['FieldIssue'];
export type TokenResponse = Schemas['TokenResponse'];
export type LoginRequest = Schemas['LoginRequest'];
export type SignupRequest = Schemas['SignupRequest'];
export type Me = Schemas['Me'];
export type Role = Schemas['Role'];
export type JobOut = Schemas['JobOut'];
export type JobState = Schemas['JobState'];
export type JobAccepted = Schemas['JobAccepted'];
export type EventOut = Schemas['EventOut'];
export type StatusBar = Schemas['StatusBar'];
export type GamificationSummary = Schemas['GamificationSummary'];
export type SharedDocument = Schemas['SharedDocument'];

// Tenant administration and platform admin (spa-c).
export type Tenant = Schemas['Tenant'];
export type Member = Schemas['Member'];
export type Invitation = Schemas['Invitation'];
export type InvitationStatus = Schemas['InvitationStatus'];
export type CreatedInvitation = Schemas['CreatedInvitation'];
export type AuthEvent = Schemas['AuthEvent'];
export type AuthEventKind = Schemas['AuthEventKind'];
export type AdminUser = Schemas['AdminUser'];
export type SystemOverview = Schemas['SystemOverview'];
export type Readiness = Schemas['Readiness'];
export type GamificationMetrics = Schemas['GamificationMetrics'];
export type ConfigList = Schemas['ConfigList'];
