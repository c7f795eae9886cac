//! The `afterresume` command line (clap).

use std::io::BufRead;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{ProcessEnv, Settings};
use crate::identity::accounts::{self, Email};
use crate::identity::credentials;
use crate::identity::tenancy::Role;
use crate::store::platform::{self, NewInvitation, NewUser};
use crate::store::{Store, TenantId};

#[derive(Parser)]
#[command(
    name = "afterresume",
    version,
    about = "AfterResume: work log, skills, reports and resumes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate the environment, apply migrations and serve the API.
    Serve {
        /// Overrides HOST.
        #[arg(long)]
        host: Option<String>,
        /// Overrides PORT.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Check the environment; exit non-zero listing every problem.
    ValidateEnv {
        /// Also print each variable's state (secrets hidden).
        #[arg(long)]
        print_status: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (JSON) to stdout.
    Openapi,
    /// Operator commands (run while the server is stopped when using surrealkv://).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Owner,
    Admin,
    Member,
    /// Spelled as the API spells it; `read-only` is accepted too.
    #[value(name = "read_only", alias = "read-only")]
    ReadOnly,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Owner => Role::Owner,
            RoleArg::Admin => Role::Admin,
            RoleArg::Member => Role::Member,
            RoleArg::ReadOnly => Role::ReadOnly,
        }
    }
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a platform staff user (with a personal workspace). Password from
    /// --password or the first line of stdin.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, default_value = "Staff")]
        name: String,
    },
    /// Create an invitation and print its passkey (shown once).
    Invite {
        #[arg(long, value_enum, default_value = "owner")]
        role: RoleArg,
        /// Join this existing tenant; without it the invitation creates a new tenant.
        #[arg(long)]
        tenant: Option<TenantId>,
        #[arg(long, default_value_t = 72)]
        expires_in_hours: u32,
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a user's password (and revoke their sessions).
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Disable (or with --enable, re-enable) a user.
    DisableUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        enable: bool,
    },
}

fn settings_or_exit() -> Settings {
    match Settings::from_env() {
        Ok(s) => s,
        Err(problems) => {
            eprintln!("configuration problems ({}):", problems.len());
            for p in problems {
                eprintln!("  - {p}");
            }
            std::process::exit(2);
        }
    }
}

fn password_arg(given: Option<String>) -> anyhow::Result<String> {
    match given {
        Some(p) => Ok(p),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    }
}

/// Runs a parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Openapi => {
            println!("{}", crate::api::openapi_json());
            Ok(0)
        }
        Command::ValidateEnv { print_status } => {
            if print_status {
                for line in Settings::status_lines(&ProcessEnv) {
                    println!("{line}");
                }
            }
            match Settings::from_env() {
                Ok(s) => {
                    println!(
                        "environment OK ({:?}, database {}, provider {:?})",
                        s.environment, s.surreal_url, s.llm_provider
                    );
                    Ok(0)
                }
                Err(problems) => {
                    eprintln!("configuration problems ({}):", problems.len());
                    for p in problems {
                        eprintln!("  - {p}");
                    }
                    Ok(2)
                }
            }
        }
        Command::Serve { host, port } => {
            let mut s = settings_or_exit();
            if let Some(h) = host {
                s.host = h;
            }
            if let Some(p) = port {
                s.port = p;
            }
            crate::server::serve(s).await?;
            Ok(0)
        }
        Command::Migrate => {
            let s = settings_or_exit();
            Store::open(&s.surreal_url, &s.surreal_namespace).await?;
            println!("migrations applied");
            Ok(0)
        }
        Command::Admin(cmd) => {
            let s = settings_or_exit();
            let store = Store::open(&s.surreal_url, &s.surreal_namespace).await?;
            admin(&store, cmd, s.ended_session_memory_secs()).await
        }
    }
}

/// `remember_secs`: see `Settings::ended_session_memory_secs`.
async fn admin(store: &Store, cmd: AdminCommand, remember_secs: u64) -> anyhow::Result<i32> {
    let db = store.platform();
    let fail = |msg: String| -> anyhow::Result<i32> {
        eprintln!("{msg}");
        Ok(1)
    };
    match cmd {
        AdminCommand::CreateStaff {
            email,
            password,
            name,
        } => {
            let email = match Email::parse(&email) {
                Ok(e) => e,
                Err(e) => return fail(e.message),
            };
            let password = password_arg(password)?;
            if let Err(e) = accounts::validate_password(&password, &email) {
                return fail(e.message);
            }
            let name = match accounts::parse_display_name(&name) {
                Ok(n) => n,
                Err(e) => return fail(e.message),
            };
            let hash = accounts::hash_password(&password)?;
            let user = NewUser {
                email: email.as_str(),
                password_hash: &hash,
                display_name: &name,
                timezone: "UTC",
                is_staff: true,
            };
            let id = match platform::create_user(db, &user).await {
                Ok(id) => id,
                Err(crate::store::StoreError::Unique(_)) => {
                    return fail(format!(
                        "a user with e-mail {} already exists",
                        email.as_str()
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            let tid =
                platform::create_tenant_with_owner(db, &format!("{name} (staff)"), &id).await?;
            store.tenant(tid).await?;
            println!(
                "staff user created: {} ({id}), workspace {tid}",
                email.as_str()
            );
            Ok(0)
        }
        AdminCommand::Invite {
            role,
            tenant,
            expires_in_hours,
            email,
        } => {
            if !(1..=720).contains(&expires_in_hours) {
                return fail("--expires-in-hours must be between 1 and 720".into());
            }
            if let Some(t) = tenant {
                if platform::tenant_by_id(db, t).await?.is_none() {
                    return fail(format!("no tenant {t}"));
                }
            }
            let email = match email.as_deref().map(Email::parse).transpose() {
                Ok(e) => e,
                Err(e) => return fail(e.message),
            };
            let role: Role = if tenant.is_none() {
                Role::Owner
            } else {
                role.into()
            };
            let passkey = credentials::new_passkey();
            let inv = platform::create_invitation(
                db,
                &NewInvitation {
                    passkey_hash: &credentials::sha256_hex(&passkey),
                    tenant_id: tenant,
                    role,
                    email: email.as_ref().map(|e| e.as_str()),
                    created_by: platform::OPERATOR,
                    expires_at: chrono::Utc::now()
                        + chrono::Duration::hours(i64::from(expires_in_hours)),
                },
            )
            .await?;
            eprintln!(
                "invitation {} ({}, expires {}); the passkey is shown only now:",
                inv.id,
                role.as_str(),
                inv.expires_at.to_rfc3339()
            );
            println!("{passkey}");
            Ok(0)
        }
        AdminCommand::ResetPassword { email, password } => {
            let Some(user) = platform::user_by_email(db, &email.trim().to_lowercase()).await?
            else {
                return fail(format!("no user with e-mail {email}"));
            };
            let password = password_arg(password)?;
            let parsed = Email::parse(&user.email).map_err(|e| anyhow::anyhow!(e.message))?;
            if let Err(e) = accounts::validate_password(&password, &parsed) {
                return fail(e.message);
            }
            platform::set_password(db, &user.id, &accounts::hash_password(&password)?).await?;
            platform::end_user_sessions(db, &user.id, remember_secs).await?;
            println!("password reset for {}", user.email);
            Ok(0)
        }
        AdminCommand::DisableUser { email, enable } => {
            let Some(user) = platform::user_by_email(db, &email.trim().to_lowercase()).await?
            else {
                return fail(format!("no user with e-mail {email}"));
            };
            platform::set_disabled(db, &user.id, !enable).await?;
            if !enable {
                platform::end_user_sessions(db, &user.id, remember_secs).await?;
            }
            println!(
                "{} {}",
                user.email,
                if enable { "enabled" } else { "disabled" }
            );
            Ok(0)
        }
    }
}
