//! The authenticated caller as every use case sees it: who they are, in which workspace,
//! with which role. The API builds it from a verified token (the principal cache keeps
//! it current); services take it to decide what the caller may do.

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult};
use crate::identity::tenancy::Role;
use crate::store::{TenantDb, TenantId};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub tenant: TenantId,
    pub role: Role,
    pub is_staff: bool,
    pub email: String,
    /// The user's time zone (today's date for new entries, streak days).
    pub timezone: chrono_tz::Tz,
}

impl Principal {
    /// This principal's tenant database: the only way request code reaches tenant data.
    pub async fn tenant_db(&self, deps: &Deps) -> ApiResult<TenantDb> {
        Ok(deps.store.tenant(self.tenant).await?)
    }

    /// The tenant id as stored in platform rows.
    pub fn tenant_id(&self) -> String {
        self.tenant.to_string()
    }

    /// The one ownership rule for what members make (entries, files, reports, share
    /// links): its author may change, delete or share it, and so may admins and owners
    /// of the workspace. `refusal` is the message of the 403 otherwise.
    pub fn may_change(&self, author_id: &str, refusal: &str) -> ApiResult<()> {
        if self.role.can_manage_members() || author_id == self.user_id {
            Ok(())
        } else {
            Err(ApiError::forbidden(refusal))
        }
    }

    /// Whether this principal may change (or have the AI rework) content written by
    /// `author_id`: their own, or anyone's as admin or owner.
    pub fn may_edit_content_of(&self, author_id: &str) -> ApiResult<()> {
        self.may_change(author_id, "members can change only their own entries")
    }

    /// Whether this principal may share or delete a document (report, resume share)
    /// made by `author_id`.
    pub fn may_manage(&self, author_id: &str) -> ApiResult<()> {
        self.may_change(author_id, "only its author, admins and owners can do that")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: "me".into(),
            tenant: TenantId(uuid::Uuid::nil()),
            role,
            is_staff: false,
            email: "me@example.test".into(),
            timezone: chrono_tz::UTC,
        }
    }

    #[test]
    fn authors_admins_and_owners_may_change_what_members_make() {
        for role in [Role::Owner, Role::Admin, Role::Member, Role::ReadOnly] {
            let p = principal(role);
            assert!(p.may_change("me", "no").is_ok(), "{role:?}: own work");
            let theirs = p.may_change("someone-else", "not yours");
            assert_eq!(
                theirs.is_ok(),
                role.can_manage_members(),
                "{role:?}: someone else's work"
            );
            if let Err(e) = theirs {
                assert_eq!(e.message, "not yours");
            }
        }
        let member = principal(Role::Member);
        assert_eq!(
            member.may_manage("x").unwrap_err().message,
            "only its author, admins and owners can do that"
        );
        assert_eq!(
            member.may_edit_content_of("x").unwrap_err().message,
            "members can change only their own entries"
        );
    }
}
