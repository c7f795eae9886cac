//! Tenants, memberships and roles: who may do what inside a tenant.

/// A member's role in a tenant, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
    ReadOnly,
}

impl Role {
    /// Stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "member" => Role::Member,
            "read_only" => Role::ReadOnly,
            _ => return None,
        })
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Member => 1,
            Role::ReadOnly => 0,
        }
    }

    /// Whether this role includes everything `other` may do.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    /// May create and edit content (own entries, reports, attachments).
    pub fn can_write(self) -> bool {
        self.at_least(Role::Member)
    }

    /// May manage members and invitations.
    pub fn can_manage_members(self) -> bool {
        self.at_least(Role::Admin)
    }

    /// Whether an actor with this role may grant `target` (by invitation or role change).
    /// Admins manage everyone below owner; only owners create or demote owners.
    pub fn may_assign(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => target != Role::Owner,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_order_and_assignment() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(!Role::ReadOnly.can_write());
        assert!(Role::Member.can_write());
        assert!(!Role::Member.can_manage_members());
        assert!(Role::Admin.may_assign(Role::Member));
        assert!(!Role::Admin.may_assign(Role::Owner));
        assert!(Role::Owner.may_assign(Role::Owner));
        assert!(!Role::Member.may_assign(Role::ReadOnly));
        for r in [Role::Owner, Role::Admin, Role::Member, Role::ReadOnly] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
