//! `cryptolens create-user`: the first admin and test accounts without a known password
//! (product.md §11: no seeded account has one).
//!
//! Draws a random one-time password (20 characters, 120 random bits, re-drawn until it passes
//! the ONE password policy of `cl_app::accounts`), prints it once on stdout with the email, and
//! writes SQL that creates (or resets) the account: PBKDF2-HMAC-SHA256 at the OWASP cost in the
//! same PHC string the worker's WebCrypto hasher writes and verifies (docs/security-primitives.md),
//! verified and active, `must_change_password` set (unless `--no-forced-change`, for test
//! fixtures), every existing session revoked, and the subscription of the requested tier
//! (premium = a `lifetime` row, pro = a year, free = none; provider `admin`).
//!
//! The SQL is one dialect for both stores (TRUE/FALSE, `ON CONFLICT … DO UPDATE`, sub-selects
//! on the canonical email), so the same file goes to D1 (`npx wrangler d1 execute DB --local
//! --file FILE`) and to Postgres (`psql "$DATABASE_URL" -f FILE`). Values are validated
//! (canonical email, username charset) and quoted by doubling `'`; nothing else is formatted
//! into the text. The password never reaches the SQL file, only its hash.

use cl_app::accounts::password_field_errors;
use cl_auth::email::{Email, Username};
use cl_auth::password::{hash_password, Pbkdf2Params};
use cl_auth::random;
use cl_auth::tokens::generate_ntfy_topic;
use cl_auth::SecretString;
use std::io::Write;
use std::path::PathBuf;

/// The usage text of `create-user`.
pub const USAGE: &str = "\
cryptolens create-user --email EMAIL --sql-out FILE [--admin] [--tier premium|pro|free]
                       [--username NAME] [--now MS] [--no-forced-change]
    Creates (or resets) an account with a random one-time password, printed ONCE as
    `email: …` and `password: …` lines on stdout. The SQL goes to FILE, for
    `npx wrangler d1 execute DB --local --file FILE` or `psql \"$DATABASE_URL\" -f FILE`.
    --tier defaults to free (premium: a lifetime subscription; pro: one year).
    The account must change its password at first sign-in, unless --no-forced-change
    (for automated test and load fixtures, which sign in with the printed password).
";

const DAY_MS: i64 = 86_400_000;
const PASSWORD_CHARS: usize = 20;
/// 64 symbols: each random byte's low 6 bits pick one without bias.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The tier the account gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierArg {
    /// No subscription.
    Free,
    /// Pro for a year.
    Pro,
    /// Premium without expiry (`lifetime`).
    Premium,
}

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateUserArgs {
    /// Canonical email.
    pub email: Email,
    /// Username.
    pub username: Username,
    /// Admin flag.
    pub admin: bool,
    /// Tier.
    pub tier: TierArg,
    /// Where the SQL goes.
    pub sql_out: PathBuf,
    /// The clock (UTC ms); the system clock by default.
    pub now: Option<i64>,
    /// Whether the first sign-in must change the password (every account but test fixtures).
    pub forced_change: bool,
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Bad command line.
    #[error("create-user: {0}\n{USAGE}")]
    Usage(String),
    /// No randomness or the hash failed.
    #[error("create-user: {0}")]
    Crypto(String),
    /// The SQL file could not be written.
    #[error("create-user: cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// stdout could not be written.
    #[error("create-user: cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

fn usage(msg: impl Into<String>) -> CreateUserError {
    CreateUserError::Usage(msg.into())
}

/// Parses the options after `create-user`.
///
/// # Errors
/// [`CreateUserError::Usage`].
pub fn parse(rest: &[String]) -> Result<CreateUserArgs, CreateUserError> {
    let (mut email, mut username, mut admin, mut tier, mut out, mut now) =
        (None, None, false, TierArg::Free, None, None);
    let mut forced_change = true;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match name {
            "--email" => {
                let raw = value()?;
                email = Some(Email::parse(&raw).map_err(|e| usage(format!("--email: {e}")))?);
            }
            "--username" => {
                let raw = value()?;
                username =
                    Some(Username::parse(&raw).map_err(|e| usage(format!("--username: {e}")))?);
            }
            "--admin" if inline.is_none() => admin = true,
            "--no-forced-change" if inline.is_none() => forced_change = false,
            "--tier" => {
                tier = match value()?.as_str() {
                    "free" => TierArg::Free,
                    "pro" => TierArg::Pro,
                    "premium" => TierArg::Premium,
                    other => return Err(usage(format!("--tier: unknown tier {other:?}"))),
                }
            }
            "--sql-out" => out = Some(PathBuf::from(value()?)),
            "--now" => {
                let raw = value()?;
                now = Some(
                    raw.parse::<i64>()
                        .ok()
                        .filter(|v| (0..=(1_i64 << 53)).contains(v))
                        .ok_or_else(|| usage("--now: UTC milliseconds"))?,
                );
            }
            other => return Err(usage(format!("unknown option {other:?}"))),
        }
    }
    let email = email.ok_or_else(|| usage("--email is required"))?;
    let username = match username {
        Some(u) => u,
        None => default_username(&email)?,
    };
    Ok(CreateUserArgs {
        email,
        username,
        admin,
        tier,
        sql_out: out.ok_or_else(|| usage("--sql-out is required"))?,
        now,
        forced_change,
    })
}

/// The local part of the email, reduced to `[a-z0-9_]`, 3..=30 characters.
fn default_username(email: &Email) -> Result<Username, CreateUserError> {
    let local = email.as_str().split('@').next().unwrap_or("");
    let mut name: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    while name.len() < 3 {
        name.push('_');
    }
    Username::parse(&name).map_err(|e| usage(format!("--username needed: {e}")))
}

/// Draws a one-time password that passes the password policy.
///
/// # Errors
/// [`CreateUserError::Crypto`] without randomness.
pub fn one_time_password() -> Result<SecretString, CreateUserError> {
    for _ in 0..64 {
        let bytes = random::bytes::<PASSWORD_CHARS>()
            .map_err(|e| CreateUserError::Crypto(e.to_string()))?;
        let text: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
            .collect();
        let candidate = SecretString::new(text);
        if password_field_errors("password", &candidate).is_empty() {
            return Ok(candidate);
        }
    }
    Err(CreateUserError::Crypto(
        "no policy-conforming password in 64 draws".into(),
    ))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL of one account (see the module docs); `password_hash` is the PHC string.
pub fn sql(a: &CreateUserArgs, password_hash: &str, ntfy_topic: &str, now: i64) -> String {
    let email = quote(a.email.as_str());
    let user = format!("(SELECT id FROM users WHERE email = {email})");
    let admin = if a.admin { "TRUE" } else { "FALSE" };
    let must_change = if a.forced_change { "TRUE" } else { "FALSE" };
    let mut out = format!(
        "-- cryptolens create-user {email}: the password is NOT in this file (printed once).\n\
         INSERT INTO users (email, username, password_hash, is_active, is_verified, is_admin, \
         must_change_password, ntfy_topic, created_at, password_changed_at)\n\
         VALUES ({email}, {username}, {hash}, TRUE, TRUE, {admin}, {must_change}, {topic}, {now}, {now})\n\
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, \
         is_active = TRUE, is_verified = TRUE, is_admin = excluded.is_admin, \
         must_change_password = {must_change}, password_changed_at = excluded.password_changed_at;\n\
         DELETE FROM sessions WHERE user_id = {user};\n\
         DELETE FROM subscriptions WHERE user_id = {user};\n",
        username = quote(a.username.as_str()),
        hash = quote(password_hash),
        topic = quote(ntfy_topic),
    );
    let row = match a.tier {
        TierArg::Free => None,
        TierArg::Pro => Some(("pro", (now + 365 * DAY_MS).to_string())),
        TierArg::Premium => Some(("lifetime", "NULL".to_owned())),
    };
    if let Some((plan, expires)) = row {
        out.push_str(&format!(
            "INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider, \
             created_at, updated_at)\nSELECT id, '{plan}', 'active', {now}, {expires}, 'admin', \
             {now}, {now} FROM users WHERE email = {email};\n"
        ));
    }
    out
}

/// Runs `create-user`: writes the SQL file, then prints the email and the password once.
///
/// # Errors
/// [`CreateUserError`].
pub fn run(rest: &[String], out: &mut impl Write) -> Result<(), CreateUserError> {
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        out.write_all(USAGE.as_bytes())?;
        return Ok(());
    }
    let args = parse(rest)?;
    let now = match args.now {
        Some(n) => n,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| CreateUserError::Crypto(e.to_string()))
            .and_then(|d| {
                i64::try_from(d.as_millis()).map_err(|e| CreateUserError::Crypto(e.to_string()))
            })?,
    };
    let password = one_time_password()?;
    let hash = hash_password(password.expose_secret(), &Pbkdf2Params::default())
        .map_err(|e| CreateUserError::Crypto(e.to_string()))?;
    let topic = generate_ntfy_topic().map_err(|e| CreateUserError::Crypto(e.to_string()))?;
    let text = sql(&args, &hash.to_phc_string(), &topic, now);
    std::fs::write(&args.sql_out, text).map_err(|source| CreateUserError::Write {
        path: args.sql_out.clone(),
        source,
    })?;
    writeln!(out, "email: {}", args.email.as_str())?;
    writeln!(out, "password: {}", password.expose_secret())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_auth::password::PasswordHash;

    fn args(extra: &[&str]) -> Result<CreateUserArgs, CreateUserError> {
        let mut v: Vec<String> = vec!["--email".into(), " Admin@Example.COM ".into()];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        parse(&v)
    }

    #[test]
    fn options_are_parsed_and_checked() {
        let a = args(&["--admin", "--tier", "premium", "--sql-out=/tmp/x.sql"]).unwrap();
        assert_eq!(a.email.as_str(), "admin@example.com");
        assert_eq!(a.username.as_str(), "admin");
        assert!(a.admin);
        assert_eq!(a.tier, TierArg::Premium);
        assert!(args(&["--tier", "gold", "--sql-out", "x"]).is_err());
        assert!(args(&[]).is_err(), "--sql-out is required");
        assert!(parse(&["--sql-out".into(), "x".into()]).is_err());
        assert!(args(&["--sql-out", "x", "--bogus"]).is_err());
    }

    #[test]
    fn passwords_are_random_and_pass_the_policy() {
        let a = one_time_password().unwrap();
        let b = one_time_password().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), PASSWORD_CHARS);
        assert!(password_field_errors("password", &a).is_empty());
    }

    #[test]
    fn the_sql_holds_the_hash_never_the_password_and_the_tier_row() {
        let a = args(&["--admin", "--tier", "premium", "--sql-out", "x"]).unwrap();
        let password = one_time_password().unwrap();
        let hash = hash_password(password.expose_secret(), &Pbkdf2Params::new(10).unwrap())
            .unwrap()
            .to_phc_string();
        assert!(PasswordHash::parse(&hash).is_ok());
        let text = sql(&a, &hash, "cl_0011223344556677", 1_700_000_000_000);
        assert!(!text.contains(password.expose_secret()));
        assert!(text.contains(&hash));
        assert!(text.contains("'lifetime', 'active'"));
        assert!(text.contains("TRUE, TRUE, TRUE, TRUE"));
        let free = args(&["--sql-out", "x"]).unwrap();
        let text = sql(&free, &hash, "cl_0011223344556677", 1);
        assert!(!text.contains("INSERT INTO subscriptions"));
        assert!(text.contains("TRUE, TRUE, FALSE, TRUE"));
    }

    #[test]
    fn accounts_must_change_the_password_unless_they_are_fixtures() {
        let hash = "$pbkdf2-sha256$i=10$AA$AA";
        let real = args(&["--sql-out", "x"]).unwrap();
        assert!(real.forced_change);
        let text = sql(&real, hash, "cl_00", 1);
        assert!(text.contains("must_change_password = TRUE"));
        let fixture = args(&["--no-forced-change", "--sql-out", "x"]).unwrap();
        let text = sql(&fixture, hash, "cl_00", 1);
        assert!(text.contains("TRUE, TRUE, FALSE, FALSE"));
        assert!(text.contains("must_change_password = FALSE"));
        assert!(args(&["--no-forced-change=yes", "--sql-out", "x"]).is_err());
    }

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(quote("o'neil"), "'o''neil'");
    }
}

#[cfg(test)]
mod sqlite_tests {
    use super::*;
    use cl_auth::password::PasswordHash;

    /// The D1 schema (migrations/*.sql, SQLite dialect) in memory.
    fn migrated() -> rusqlite::Connection {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for f in files {
            db.execute_batch(&std::fs::read_to_string(f).unwrap())
                .unwrap();
        }
        db
    }

    #[test]
    fn the_sql_creates_then_resets_a_verified_account_on_the_d1_schema() {
        let db = migrated();
        let a = parse(&[
            "--email".into(),
            "ops@example.com".into(),
            "--admin".into(),
            "--tier".into(),
            "pro".into(),
            "--sql-out".into(),
            "x".into(),
        ])
        .unwrap();
        let params = Pbkdf2Params::new(10).unwrap();
        let first = one_time_password().unwrap();
        let hash = hash_password(first.expose_secret(), &params).unwrap();
        db.execute_batch(&sql(&a, &hash.to_phc_string(), "cl_00aa", 1_000))
            .unwrap();
        // Run again with a new password: same account, new hash, one subscription.
        let second = one_time_password().unwrap();
        let hash2 = hash_password(second.expose_secret(), &params).unwrap();
        db.execute_batch(&sql(&a, &hash2.to_phc_string(), "cl_00bb", 2_000))
            .unwrap();
        let (stored, active, verified, admin, n): (String, i64, i64, i64, i64) = db
            .query_row(
                "SELECT password_hash, is_active, is_verified, is_admin, \
                 (SELECT count(*) FROM users) FROM users WHERE email = 'ops@example.com'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!((active, verified, admin, n), (1, 1, 1, 1));
        let parsed = PasswordHash::parse(&stored).unwrap();
        assert!(parsed.verify(second.expose_secret()));
        assert!(!parsed.verify(first.expose_secret()));
        let (plan, expires): (String, i64) = db
            .query_row("SELECT plan, expires_at FROM subscriptions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(plan, "pro");
        assert_eq!(expires, 2_000 + 365 * DAY_MS);
    }
}
