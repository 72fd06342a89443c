//! Typed configuration, read once from the platform's vars and secrets, and the startup
//! check of product.md §11.18: in production the worker refuses to serve when a required
//! secret is missing, shorter than 32 bytes or equal to a documented example, when debug is
//! on, or when the app URL is not https.

use cl_app::accounts::AuthKeys;
use cl_auth::crypto::{EncryptionKey, KeyId, Keyring};
use cl_auth::secret::{validate_production_secret, SecretError, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

/// Binding and variable names, in one place.
pub mod keys {
    /// `development` or `production` (anything else is treated as production).
    pub const ENVIRONMENT: &str = "ENVIRONMENT";
    /// The public base URL, e.g. `https://cryptolens.example`.
    pub const APP_URL: &str = "APP_URL";
    /// `d1` (default) or `postgres`.
    pub const STORAGE: &str = "STORAGE";
    /// Comma-separated exact origins allowed by CORS.
    pub const CORS_ORIGINS: &str = "CORS_ORIGINS";
    /// `true` enables debug behaviour; refused in production.
    pub const DEBUG: &str = "DEBUG";
    /// `true` makes the admin area require 2FA outside production too (it always does in
    /// production, product.md §9).
    pub const ADMIN_REQUIRE_2FA: &str = "ADMIN_REQUIRE_2FA";
    /// Session and CSRF key.
    pub const SESSION_KEY: &str = "SESSION_KEY";
    /// Pepper for API key and lockout HMACs.
    pub const API_KEY_PEPPER: &str = "API_KEY_PEPPER";
    /// AES-256-GCM key for TOTP secrets.
    pub const TOTP_ENCRYPTION_KEY: &str = "TOTP_ENCRYPTION_KEY";
    /// AES-256-GCM key for exchange credentials.
    pub const CREDENTIALS_ENCRYPTION_KEY: &str = "CREDENTIALS_ENCRYPTION_KEY";
    /// LemonSqueezy webhook signing secret.
    pub const LEMONSQUEEZY_WEBHOOK_SECRET: &str = "LEMONSQUEEZY_WEBHOOK_SECRET";
    /// NOWPayments IPN secret.
    pub const NOWPAYMENTS_IPN_SECRET: &str = "NOWPAYMENTS_IPN_SECRET";
    /// LemonSqueezy API key (checkouts). Issued by the provider: required in production and
    /// never an example value, but not held to the 32-byte rule of our own secrets.
    pub const LEMONSQUEEZY_API_KEY: &str = "LEMONSQUEEZY_API_KEY";
    /// NOWPayments API key (invoices, payment status); as above (theirs are 31 characters).
    pub const NOWPAYMENTS_API_KEY: &str = "NOWPAYMENTS_API_KEY";

    /// The payment providers' API keys (checked for presence and example values only).
    pub const PROVIDER_API_KEYS: [&str; 2] = [LEMONSQUEEZY_API_KEY, NOWPAYMENTS_API_KEY];

    /// Every secret the service cannot run safely without.
    pub const REQUIRED_SECRETS: [&str; 8] = [
        SESSION_KEY,
        API_KEY_PEPPER,
        TOTP_ENCRYPTION_KEY,
        CREDENTIALS_ENCRYPTION_KEY,
        LEMONSQUEEZY_WEBHOOK_SECRET,
        NOWPAYMENTS_IPN_SECRET,
        LEMONSQUEEZY_API_KEY,
        NOWPAYMENTS_API_KEY,
    ];
}

/// Deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local development: problems are logged, not fatal.
    Development,
    /// Production: any problem makes the worker refuse to serve.
    Production,
}

/// Which store the services talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageBackend {
    /// Cloudflare D1 (the embedded default).
    D1,
    /// Postgres through Hyperdrive.
    Postgres,
}

/// One reason the configuration is unfit for production. Carries names, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// A required secret is unset or empty.
    MissingSecret(&'static str),
    /// A required secret is shorter than the minimum length.
    ShortSecret(&'static str),
    /// A required secret equals a documented example value.
    ExampleSecret(&'static str),
    /// Debug is on.
    DebugEnabled,
    /// `APP_URL` is missing or not https.
    InsecureAppUrl,
    /// `STORAGE` names no backend.
    UnknownStorage,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSecret(n) => write!(f, "secret {n} is missing"),
            Self::ShortSecret(n) => write!(f, "secret {n} is shorter than 32 bytes"),
            Self::ExampleSecret(n) => write!(f, "secret {n} equals a documented example value"),
            Self::DebugEnabled => f.write_str("DEBUG is on"),
            Self::InsecureAppUrl => f.write_str("APP_URL is not an https URL"),
            Self::UnknownStorage => f.write_str("STORAGE must be d1 or postgres"),
        }
    }
}

/// The typed secrets. Fields are `None` only in development.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Session/CSRF key.
    pub session_key: Option<SecretString>,
    /// API key pepper.
    pub api_key_pepper: Option<SecretString>,
    /// TOTP encryption key.
    pub totp_key: Option<SecretString>,
    /// Exchange-credentials encryption key.
    pub credentials_key: Option<SecretString>,
    /// LemonSqueezy webhook secret.
    pub lemonsqueezy_webhook_secret: Option<SecretString>,
    /// NOWPayments IPN secret.
    pub nowpayments_ipn_secret: Option<SecretString>,
    /// LemonSqueezy API key.
    pub lemonsqueezy_api_key: Option<SecretString>,
    /// NOWPayments API key.
    pub nowpayments_api_key: Option<SecretString>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets([REDACTED])")
    }
}

/// The id of the current TOTP encryption key (stored with every sealed secret; a rotation adds
/// a new id and keeps this one as a previous key).
pub const TOTP_KEY_ID: &str = "totp1";

/// The account secrets in the shape the account service and the HTTP layer need.
#[derive(Clone, Debug)]
pub struct AccountKeys {
    /// For `AccountService::new`.
    pub auth: AuthKeys,
    /// The lockout pepper again, for per-account rate-limit subjects and lockout lookups.
    pub account_pepper: SecretString,
}

impl Secrets {
    /// Builds the account keys: the session key (CSRF), the API-key pepper (lockout HMAC,
    /// as documented for `API_KEY_PEPPER`), the TOTP key (sealing), and a recovery-code key
    /// derived from the TOTP key under its own label (SHA-256, domain-separated), so a
    /// recovery-code hash can never be confused with another use of either secret.
    ///
    /// # Errors
    /// A problem naming the secret that is missing or unusable (never its value).
    pub fn account_keys(&self) -> Result<AccountKeys, ConfigProblem> {
        let session = self
            .session_key
            .clone()
            .ok_or(ConfigProblem::MissingSecret(keys::SESSION_KEY))?;
        let pepper = self
            .api_key_pepper
            .clone()
            .ok_or(ConfigProblem::MissingSecret(keys::API_KEY_PEPPER))?;
        let totp = self
            .totp_key
            .as_ref()
            .ok_or(ConfigProblem::MissingSecret(keys::TOTP_ENCRYPTION_KEY))?;
        let key = EncryptionKey::parse(totp)
            .map_err(|_| ConfigProblem::ShortSecret(keys::TOTP_ENCRYPTION_KEY))?;
        let id = KeyId::parse(TOTP_KEY_ID)
            .map_err(|_| ConfigProblem::ShortSecret(keys::TOTP_ENCRYPTION_KEY))?;
        let mut h = Sha256::new();
        h.update(b"cl-recovery-code-key-v1\0");
        h.update(totp.expose_secret().as_bytes());
        let recovery: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(AccountKeys {
            auth: AuthKeys::new(
                session,
                pepper.clone(),
                SecretString::new(recovery),
                Keyring::new(id, key),
            ),
            account_pepper: pepper,
        })
    }
}

/// Configuration read once per isolate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Environment.
    pub environment: Environment,
    /// Store backend.
    pub storage: StorageBackend,
    /// Public base URL.
    pub app_url: String,
    /// Exact CORS origins.
    pub cors_origins: Vec<String>,
    /// Whether admin routes need the admin to have 2FA on (always in production).
    pub admin_requires_2fa: bool,
    /// Secrets.
    pub secrets: Secrets,
    /// Everything wrong with it.
    pub problems: Vec<ConfigProblem>,
}

impl Config {
    /// Reads and checks the configuration. `lookup` returns a var or secret by name.
    pub fn load(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut problems = Vec::new();
        let environment = match lookup(keys::ENVIRONMENT).as_deref().map(str::trim) {
            Some("development") => Environment::Development,
            // Fail closed: an unset or misspelt environment gets production's strictness.
            _ => Environment::Production,
        };
        let storage = match lookup(keys::STORAGE).as_deref().map(str::trim) {
            None | Some("") | Some("d1") => StorageBackend::D1,
            Some("postgres") => StorageBackend::Postgres,
            Some(_) => {
                problems.push(ConfigProblem::UnknownStorage);
                StorageBackend::D1
            }
        };
        let app_url = lookup(keys::APP_URL).unwrap_or_default().trim().to_owned();
        if environment == Environment::Production && !app_url.starts_with("https://") {
            problems.push(ConfigProblem::InsecureAppUrl);
        }
        if matches!(
            lookup(keys::DEBUG).as_deref().map(str::trim),
            Some("true" | "1" | "on")
        ) {
            problems.push(ConfigProblem::DebugEnabled);
        }
        let admin_requires_2fa = environment == Environment::Production
            || matches!(
                lookup(keys::ADMIN_REQUIRE_2FA).as_deref().map(str::trim),
                Some("true" | "1" | "on")
            );
        let cors_origins = lookup(keys::CORS_ORIGINS)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();

        let mut secret = |name: &'static str| -> Option<SecretString> {
            let value = lookup(name)
                .filter(|v| !v.trim().is_empty())
                .map(SecretString::new);
            let problem = match validate_production_secret(name, value.as_ref(), &[]) {
                Ok(()) => None,
                Err(SecretError::Missing { .. }) => Some(ConfigProblem::MissingSecret(name)),
                Err(SecretError::TooShort { .. }) => Some(ConfigProblem::ShortSecret(name)),
                Err(SecretError::DocumentedExample { .. }) => {
                    Some(ConfigProblem::ExampleSecret(name))
                }
            };
            problems.extend(problem);
            value
        };
        let secrets = Secrets {
            lemonsqueezy_api_key: None,
            nowpayments_api_key: None,
            session_key: secret(keys::SESSION_KEY),
            api_key_pepper: secret(keys::API_KEY_PEPPER),
            totp_key: secret(keys::TOTP_ENCRYPTION_KEY),
            credentials_key: secret(keys::CREDENTIALS_ENCRYPTION_KEY),
            lemonsqueezy_webhook_secret: secret(keys::LEMONSQUEEZY_WEBHOOK_SECRET),
            nowpayments_ipn_secret: secret(keys::NOWPAYMENTS_IPN_SECRET),
        };
        let mut provider_key = |name: &'static str| -> Option<SecretString> {
            let value = lookup(name)
                .filter(|v| !v.trim().is_empty())
                .map(SecretString::new);
            match &value {
                None => problems.push(ConfigProblem::MissingSecret(name)),
                Some(v)
                    if cl_auth::secret::DOCUMENTED_EXAMPLE_SECRETS
                        .iter()
                        .any(|e| e.trim() == v.expose_secret().trim()) =>
                {
                    problems.push(ConfigProblem::ExampleSecret(name));
                }
                Some(_) => {}
            }
            value
        };
        let lemonsqueezy_api_key = provider_key(keys::LEMONSQUEEZY_API_KEY);
        let nowpayments_api_key = provider_key(keys::NOWPAYMENTS_API_KEY);
        let secrets = Secrets {
            lemonsqueezy_api_key,
            nowpayments_api_key,
            ..secrets
        };
        Self {
            environment,
            storage,
            app_url,
            cors_origins,
            admin_requires_2fa,
            secrets,
            problems,
        }
    }

    /// True when the worker must answer 503 to everything.
    pub fn refuses_to_serve(&self) -> bool {
        self.environment == Environment::Production && !self.problems.is_empty()
    }

    /// True when nothing is wrong.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// One log line naming every problem (names only, never values).
    pub fn problems_summary(&self) -> String {
        self.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const STRONG: &str = "0123456789abcdef0123456789abcdef-strong";

    fn full_production() -> HashMap<&'static str, String> {
        let mut m: HashMap<&'static str, String> = keys::REQUIRED_SECRETS
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, format!("{STRONG}-{i}")))
            .collect();
        m.insert(keys::ENVIRONMENT, "production".into());
        m.insert(keys::APP_URL, "https://cryptolens.example".into());
        m
    }

    #[test]
    fn production_needs_the_provider_api_keys_but_not_32_bytes_of_them() {
        let mut m = full_production();
        m.insert(
            keys::NOWPAYMENTS_API_KEY,
            "ABCDEFG-HIJKLMN-OPQRSTU-VWXYZ12".into(),
        );
        assert!(load(&m).is_valid(), "{:?}", load(&m).problems);
        m.remove(keys::LEMONSQUEEZY_API_KEY);
        assert_eq!(
            load(&m).problems,
            vec![ConfigProblem::MissingSecret(keys::LEMONSQUEEZY_API_KEY)]
        );
        m.insert(keys::LEMONSQUEEZY_API_KEY, "changeme".into());
        assert_eq!(
            load(&m).problems,
            vec![ConfigProblem::ExampleSecret(keys::LEMONSQUEEZY_API_KEY)]
        );
        assert!(load(&m).refuses_to_serve());
    }

    fn load(m: &HashMap<&'static str, String>) -> Config {
        Config::load(|k| m.get(k).cloned())
    }

    #[test]
    fn a_complete_production_config_serves() {
        let c = load(&full_production());
        assert!(c.is_valid(), "{:?}", c.problems);
        assert!(!c.refuses_to_serve());
        assert_eq!(c.storage, StorageBackend::D1);
    }

    #[test]
    fn the_admin_area_needs_2fa_in_production_whatever_the_switch_says() {
        let mut m = full_production();
        m.insert(keys::ADMIN_REQUIRE_2FA, "false".into());
        assert!(load(&m).admin_requires_2fa);
        let mut dev = HashMap::new();
        dev.insert(keys::ENVIRONMENT, "development".to_owned());
        assert!(!load(&dev).admin_requires_2fa);
        dev.insert(keys::ADMIN_REQUIRE_2FA, "true".to_owned());
        assert!(load(&dev).admin_requires_2fa);
    }

    #[test]
    fn production_refuses_a_missing_secret() {
        let mut m = full_production();
        m.remove(keys::API_KEY_PEPPER);
        let c = load(&m);
        assert!(c.refuses_to_serve());
        assert_eq!(
            c.problems,
            vec![ConfigProblem::MissingSecret(keys::API_KEY_PEPPER)]
        );
    }

    #[test]
    fn production_refuses_a_short_secret() {
        let mut m = full_production();
        m.insert(keys::SESSION_KEY, "x".repeat(31));
        assert_eq!(
            load(&m).problems,
            vec![ConfigProblem::ShortSecret(keys::SESSION_KEY)]
        );
    }

    #[test]
    fn production_refuses_every_documented_example_value() {
        for example in cl_auth::secret::DOCUMENTED_EXAMPLE_SECRETS {
            let mut m = full_production();
            m.insert(keys::TOTP_ENCRYPTION_KEY, (*example).to_owned());
            let c = load(&m);
            assert!(c.refuses_to_serve(), "{example}");
            assert!(c
                .problems
                .contains(&ConfigProblem::ExampleSecret(keys::TOTP_ENCRYPTION_KEY)));
        }
    }

    #[test]
    fn production_refuses_debug_and_plain_http() {
        let mut m = full_production();
        m.insert(keys::DEBUG, "true".into());
        m.insert(keys::APP_URL, "http://cryptolens.example".into());
        let c = load(&m);
        assert!(c.problems.contains(&ConfigProblem::DebugEnabled));
        assert!(c.problems.contains(&ConfigProblem::InsecureAppUrl));
    }

    #[test]
    fn an_unset_environment_is_treated_as_production() {
        let mut m = full_production();
        m.remove(keys::ENVIRONMENT);
        m.remove(keys::SESSION_KEY);
        assert!(load(&m).refuses_to_serve());
    }

    #[test]
    fn development_logs_problems_but_serves() {
        let m: HashMap<&'static str, String> = [(keys::ENVIRONMENT, "development".to_owned())]
            .into_iter()
            .collect();
        let c = load(&m);
        assert!(!c.refuses_to_serve());
        assert!(!c.is_valid());
    }

    #[test]
    fn the_problem_summary_names_secrets_but_never_their_values() {
        let mut m = full_production();
        m.insert(keys::SESSION_KEY, "tiny-secret-value".into());
        let c = load(&m);
        let line = c.problems_summary();
        assert!(line.contains("SESSION_KEY"));
        assert!(!line.contains("tiny-secret-value"));
        assert!(!format!("{c:?}").contains(STRONG));
    }

    #[test]
    fn account_keys_need_a_32_byte_totp_key_and_never_print_secrets() {
        let mut m = full_production();
        assert!(
            load(&m).secrets.account_keys().is_err(),
            "not a 32-byte key"
        );
        m.insert(keys::TOTP_ENCRYPTION_KEY, "ab".repeat(32));
        let k = load(&m).secrets.account_keys().unwrap();
        assert!(!format!("{k:?}").contains(STRONG));
        m.remove(keys::SESSION_KEY);
        assert_eq!(
            load(&m).secrets.account_keys().unwrap_err(),
            ConfigProblem::MissingSecret(keys::SESSION_KEY)
        );
    }

    #[test]
    fn storage_selects_postgres_and_rejects_unknown_backends() {
        let mut m = full_production();
        m.insert(keys::STORAGE, "postgres".into());
        assert_eq!(load(&m).storage, StorageBackend::Postgres);
        m.insert(keys::STORAGE, "sqlite".into());
        assert!(load(&m).problems.contains(&ConfigProblem::UnknownStorage));
    }
}
