//! A wired account service over the memory store, with a hand-moved clock, a recording
//! mailer and a PBKDF2 hasher at 10 iterations that counts its work.

use cl_app::accounts::{
    AccountService, AuthKeys, Authenticated, ClientInfo, IssuedSession, LoginOutcome, Pbkdf2Hasher,
};
use cl_app::ports::{
    mail_param, Clock, HashError, Mail, MailError, MailKind, Mailer, PasswordHasher, UserId,
    UserStore,
};
use cl_auth::crypto::{totp_aad, EncryptionKey, KeyId, Keyring};
use cl_auth::email::Email;
use cl_auth::password::Pbkdf2Params;
use cl_auth::totp::{step_at, TotpSecret};
use cl_auth::SecretString;
use cl_store_memory::MemoryStore;
use std::cell::{Cell, RefCell};

pub const T0: i64 = 1_700_000_000_000;
pub const SEC: i64 = 1_000;
pub const MIN: i64 = 60 * SEC;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;
pub const PASSWORD: &str = "Correct7Horse";

pub fn secret(s: &str) -> SecretString {
    SecretString::new(s)
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[derive(Debug)]
pub struct TestClock(pub Cell<i64>);

impl TestClock {
    pub fn advance(&self, ms: i64) {
        self.0.set(self.0.get() + ms);
    }
    pub fn set(&self, ms: i64) {
        self.0.set(ms);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

#[derive(Debug, Default)]
pub struct FakeMailer {
    pub sent: RefCell<Vec<Mail>>,
    pub fail: Cell<bool>,
}

impl Mailer for FakeMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.fail.get() {
            return Err(MailError::Unavailable("test".into()));
        }
        self.sent.borrow_mut().push(mail.clone());
        Ok(())
    }
}

impl FakeMailer {
    /// The token of the last mail of this kind sent to `to`.
    pub fn last_token(&self, kind: MailKind, to: &str) -> String {
        self.sent
            .borrow()
            .iter()
            .rev()
            .find(|m| m.kind == kind && m.to.as_str() == to)
            .and_then(|m| m.param(mail_param::TOKEN))
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_else(|| panic!("no {kind:?} mail to {to}"))
    }

    pub fn kinds_to(&self, to: &str) -> Vec<MailKind> {
        self.sent
            .borrow()
            .iter()
            .filter(|m| m.to.as_str() == to)
            .map(|m| m.kind)
            .collect()
    }

    pub fn clear(&self) {
        self.sent.borrow_mut().clear();
    }
}

/// PBKDF2 at a test cost, counting real and dummy verifications.
#[derive(Debug)]
pub struct CountingHasher {
    inner: Pbkdf2Hasher,
    pub verifies: Cell<u32>,
    pub dummies: Cell<u32>,
}

impl CountingHasher {
    pub fn work(&self) -> u32 {
        self.verifies.get() + self.dummies.get()
    }
}

impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: &SecretString) -> Result<SecretString, HashError> {
        self.inner.hash(password).await
    }
    async fn verify(&self, password: &SecretString, phc: &SecretString) -> Result<bool, HashError> {
        self.verifies.set(self.verifies.get() + 1);
        self.inner.verify(password, phc).await
    }
    async fn verify_dummy(&self, password: &SecretString) {
        self.dummies.set(self.dummies.get() + 1);
        self.inner.verify_dummy(password).await
    }
    fn needs_rehash(&self, phc: &SecretString) -> bool {
        self.inner.needs_rehash(phc)
    }
}

pub struct TestApp {
    pub store: MemoryStore,
    pub mailer: FakeMailer,
    pub hasher: CountingHasher,
    pub clock: TestClock,
    pub keys: AuthKeys,
    pub keyring: Keyring,
}

pub type Svc<'a> = AccountService<'a, MemoryStore, FakeMailer, CountingHasher, TestClock>;

impl TestApp {
    pub fn new() -> Self {
        Self::with_iterations(10)
    }

    pub fn with_iterations(iterations: u32) -> Self {
        let keyring = Keyring::new(
            KeyId::parse("totp1").unwrap(),
            EncryptionKey::from_bytes([0x42; 32]),
        );
        Self {
            store: MemoryStore::new(),
            mailer: FakeMailer::default(),
            hasher: CountingHasher {
                inner: Pbkdf2Hasher::new(Pbkdf2Params::new(iterations).unwrap()),
                verifies: Cell::new(0),
                dummies: Cell::new(0),
            },
            clock: TestClock(Cell::new(T0)),
            keys: AuthKeys::new(
                secret("test-session-key-0123456789abcdef0123"),
                secret("test-lockout-pepper-0123456789abcdef0"),
                secret("test-recovery-key-0123456789abcdef012"),
                keyring.clone(),
            ),
            keyring,
        }
    }

    pub fn svc(&self) -> Svc<'_> {
        AccountService::new(
            &self.store,
            &self.mailer,
            &self.hasher,
            &self.clock,
            &self.keys,
        )
    }

    /// Registers and verifies `email`, returning the user id.
    pub fn user(&self, email: &str, username: &str) -> UserId {
        block_on(async {
            self.svc()
                .register(email, username, &secret(PASSWORD))
                .await
                .unwrap();
            let token = self.mailer.last_token(MailKind::VerifyEmail, email);
            match self.svc().verify_email(&token).await.unwrap() {
                cl_app::accounts::EmailVerified::Registration(id) => id,
                other => panic!("{other:?}"),
            }
        })
    }

    pub fn login(&self, email: &str, password: &str) -> LoginOutcome {
        block_on(
            self.svc()
                .login(email, &secret(password), &ClientInfo::default(), None),
        )
        .unwrap()
    }

    /// Logs in without 2FA and returns the session.
    pub fn full_login(&self, email: &str) -> IssuedSession {
        match self.login(email, PASSWORD) {
            LoginOutcome::LoggedIn(s) => s,
            other => panic!("expected a full login, got {other:?}"),
        }
    }

    pub fn auth(&self, session: &IssuedSession) -> Authenticated {
        block_on(self.svc().authenticate(session.token.expose_secret())).unwrap()
    }

    /// Reads the stored TOTP secret back through the keyring.
    pub fn totp_secret(&self, user: UserId) -> TotpSecret {
        let row = block_on(self.store.user(user)).unwrap().unwrap();
        let enc = row.totp.secret_enc.expect("a stored secret");
        let plain = self
            .keyring
            .open_str(&enc, &totp_aad(&user.to_string()))
            .unwrap();
        TotpSecret::from_bytes(&plain).unwrap()
    }

    pub fn code_now(&self, user: UserId) -> String {
        self.totp_secret(user)
            .code_at_step(step_at(self.clock.now_ms()))
    }

    /// Turns 2FA on for a logged-in user; returns the new session and the recovery codes.
    pub fn enable_2fa(&self, session: &IssuedSession) -> (IssuedSession, Vec<SecretString>) {
        let auth = self.auth(session);
        block_on(self.svc().setup_totp(&auth)).unwrap();
        let code = self.code_now(auth.user().id);
        let enabled = block_on(self.svc().enable_totp(&auth, &secret(&code))).unwrap();
        // The confirming step is used; move past it.
        self.clock.advance(30 * SEC);
        (enabled.session, enabled.recovery_codes)
    }

    pub fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }
}
