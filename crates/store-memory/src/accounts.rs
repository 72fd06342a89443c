//! The account ports (users, sessions, one-time tokens, recovery codes, lockouts) in memory.
//!
//! Every method validates first and mutates inside one `RefCell` borrow with no `.await` in
//! between, so each call is atomic the way one SQL statement is: fifty joined `reserve`
//! futures see each other's writes exactly as fifty serialised statements would. Deleting a
//! user cascades to its sessions, tokens and codes, like the SQL foreign keys.

use crate::MemoryStore;
use cl_app::policy::Tier;
use cl_app::ports::{
    exact_int, AuthTokenStore, ConsumedToken, LockoutStore, NewAuthToken, NewSession, NewUser,
    RecoveryCodeStore, SessionStage, SessionStore, StoreError, StoredSession, StoredUser,
    TokenPurpose, TotpColumns, UserId, UserStore,
};
use cl_auth::email::{Email, Username};
use cl_auth::lockout::{LockoutState, Reservation};
use cl_auth::tokens::TokenHash;
use cl_auth::SecretString;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct TokenRow {
    id: i64,
    purpose: TokenPurpose,
    token_hash: TokenHash,
    user_id: UserId,
    new_email: Option<Email>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

#[derive(Debug, Clone)]
struct CodeRow {
    user_id: UserId,
    code_hash: String,
    used_at: Option<i64>,
}

/// The account tables.
#[derive(Debug, Default)]
pub(crate) struct AccountState {
    pub(crate) users: BTreeMap<UserId, StoredUser>,
    last_user_id: i64,
    /// Keyed by the hex token hash.
    sessions: BTreeMap<String, StoredSession>,
    tokens: Vec<TokenRow>,
    last_token_id: i64,
    codes: Vec<CodeRow>,
    lockouts: BTreeMap<String, LockoutState>,
}

impl AccountState {
    fn user_mut(&mut self, id: UserId) -> Result<&mut StoredUser, StoreError> {
        self.users.get_mut(&id).ok_or(StoreError::NotFound("user"))
    }

    fn require_user(&self, id: UserId) -> Result<(), StoreError> {
        if self.users.contains_key(&id) {
            Ok(())
        } else {
            Err(StoreError::NotFound("user"))
        }
    }

    fn live_session_mut(&mut self, hash: &TokenHash, now: i64) -> Option<&mut StoredSession> {
        self.sessions
            .get_mut(&hash.to_hex())
            .filter(|s| now < s.expires_at)
    }
}

fn lower(u: &Username) -> String {
    u.as_str().to_ascii_lowercase()
}

impl UserStore for MemoryStore {
    async fn create_user(&self, new: &NewUser) -> Result<StoredUser, StoreError> {
        new.validate()?;
        let mut st = self.accounts.borrow_mut();
        if st.users.values().any(|u| u.email == new.email) {
            return Err(StoreError::Conflict("users.email"));
        }
        if st
            .users
            .values()
            .any(|u| lower(&u.username) == lower(&new.username))
        {
            return Err(StoreError::Conflict("users.username"));
        }
        if st.users.values().any(|u| u.ntfy_topic == new.ntfy_topic) {
            return Err(StoreError::Conflict("users.ntfy_topic"));
        }
        st.last_user_id += 1;
        let user = StoredUser {
            id: UserId(st.last_user_id),
            email: new.email.clone(),
            username: new.username.clone(),
            password_hash: new.password_hash.clone(),
            is_active: true,
            is_verified: false,
            is_admin: false,
            must_change_password: false,
            ntfy_topic: new.ntfy_topic.clone(),
            totp: TotpColumns::default(),
            password_changed_at: Some(new.created_at),
            created_at: new.created_at,
            last_login_at: None,
        };
        st.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn user(&self, id: UserId) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.accounts.borrow().users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let st = self.accounts.borrow();
        Ok(st.users.values().find(|u| &u.email == email).cloned())
    }

    async fn username_taken(&self, username: &Username) -> Result<bool, StoreError> {
        let st = self.accounts.borrow();
        let wanted = lower(username);
        Ok(st.users.values().any(|u| lower(&u.username) == wanted))
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &SecretString,
        changed_at: Option<i64>,
    ) -> Result<(), StoreError> {
        if let Some(t) = changed_at {
            exact_int("password_changed_at", t)?;
        }
        let mut st = self.accounts.borrow_mut();
        let user = st.user_mut(id)?;
        user.password_hash = password_hash.clone();
        if changed_at.is_some() {
            user.password_changed_at = changed_at;
            user.must_change_password = false;
        }
        Ok(())
    }

    async fn set_verified(&self, id: UserId, verified: bool) -> Result<(), StoreError> {
        self.accounts.borrow_mut().user_mut(id)?.is_verified = verified;
        Ok(())
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StoreError> {
        self.accounts.borrow_mut().user_mut(id)?.is_active = active;
        Ok(())
    }

    async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StoreError> {
        self.accounts.borrow_mut().user_mut(id)?.is_admin = admin;
        Ok(())
    }

    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), StoreError> {
        let mut st = self.accounts.borrow_mut();
        st.require_user(id)?;
        if st.users.values().any(|u| u.id != id && &u.email == email) {
            return Err(StoreError::Conflict("users.email"));
        }
        st.user_mut(id)?.email = email.clone();
        Ok(())
    }

    async fn set_last_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        exact_int("last_login_at", at)?;
        self.accounts.borrow_mut().user_mut(id)?.last_login_at = Some(at);
        Ok(())
    }

    async fn set_totp_secret(
        &self,
        id: UserId,
        secret_enc: &str,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let mut st = self.accounts.borrow_mut();
        let Some(user) = st.users.get_mut(&id) else {
            return Ok(false);
        };
        if user.totp.enabled {
            return Ok(false);
        }
        user.totp = TotpColumns {
            secret_enc: Some(secret_enc.to_owned()),
            key_id: Some(key_id.to_owned()),
            enabled: false,
            last_step: None,
        };
        Ok(true)
    }

    async fn enable_totp(
        &self,
        id: UserId,
        secret_enc: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        exact_int("totp step", step)?;
        let mut st = self.accounts.borrow_mut();
        let Some(user) = st.users.get_mut(&id) else {
            return Ok(false);
        };
        if user.totp.enabled || user.totp.secret_enc.as_deref() != Some(secret_enc) {
            return Ok(false);
        }
        user.totp.enabled = true;
        user.totp.last_step = Some(step);
        Ok(true)
    }

    async fn record_totp_step(&self, id: UserId, step: i64) -> Result<bool, StoreError> {
        exact_int("totp step", step)?;
        let mut st = self.accounts.borrow_mut();
        let Some(user) = st.users.get_mut(&id) else {
            return Ok(false);
        };
        if !user.totp.enabled || user.totp.last_step.is_some_and(|last| step <= last) {
            return Ok(false);
        }
        user.totp.last_step = Some(step);
        Ok(true)
    }

    async fn clear_totp(&self, id: UserId) -> Result<(), StoreError> {
        self.accounts.borrow_mut().user_mut(id)?.totp = TotpColumns::default();
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        let mut st = self.accounts.borrow_mut();
        st.users.remove(&id).ok_or(StoreError::NotFound("user"))?;
        st.sessions.retain(|_, s| s.user_id != id);
        st.tokens.retain(|t| t.user_id != id);
        st.codes.retain(|c| c.user_id != id);
        Ok(())
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(&self, new: &NewSession) -> Result<(), StoreError> {
        new.validate()?;
        let mut st = self.accounts.borrow_mut();
        st.require_user(new.user_id)?;
        let key = new.token_hash.to_hex();
        if st.sessions.contains_key(&key) {
            return Err(StoreError::Conflict("sessions.token_hash"));
        }
        st.sessions.insert(
            key,
            StoredSession {
                token_hash: new.token_hash,
                user_id: new.user_id,
                stage: new.stage,
                view_as: new.view_as,
                totp_failures: 0,
                created_at: new.created_at,
                last_seen_at: new.created_at,
                expires_at: new.expires_at,
                absolute_expires_at: new.absolute_expires_at,
                reauth_at: new.reauth_at,
                ip: new.ip.clone(),
                user_agent: new.user_agent.clone(),
            },
        );
        Ok(())
    }

    async fn session(&self, hash: &TokenHash) -> Result<Option<StoredSession>, StoreError> {
        Ok(self.accounts.borrow().sessions.get(&hash.to_hex()).cloned())
    }

    async fn touch_session(
        &self,
        hash: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        exact_int("expires_at", expires_at)?;
        let mut st = self.accounts.borrow_mut();
        let Some(s) = st.live_session_mut(hash, now) else {
            return Ok(false);
        };
        s.last_seen_at = now;
        s.expires_at = expires_at;
        Ok(true)
    }

    async fn promote_session(
        &self,
        pending: &TokenHash,
        new: &TokenHash,
        now: i64,
        expires_at: i64,
        absolute_expires_at: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        exact_int("expires_at", expires_at)?;
        exact_int("absolute_expires_at", absolute_expires_at)?;
        let mut st = self.accounts.borrow_mut();
        if st.sessions.contains_key(&new.to_hex()) {
            return Err(StoreError::Conflict("sessions.token_hash"));
        }
        let ok = st
            .live_session_mut(pending, now)
            .is_some_and(|s| s.stage == SessionStage::Pending2fa);
        if !ok {
            return Ok(false);
        }
        let Some(mut s) = st.sessions.remove(&pending.to_hex()) else {
            return Ok(false);
        };
        s.token_hash = *new;
        s.stage = SessionStage::Full;
        s.totp_failures = 0;
        s.created_at = now;
        s.last_seen_at = now;
        s.reauth_at = Some(now);
        s.expires_at = expires_at;
        s.absolute_expires_at = absolute_expires_at;
        st.sessions.insert(new.to_hex(), s);
        Ok(true)
    }

    async fn rotate_session(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        let mut st = self.accounts.borrow_mut();
        if st.sessions.contains_key(&new.to_hex()) {
            return Err(StoreError::Conflict("sessions.token_hash"));
        }
        let ok = st
            .live_session_mut(old, now)
            .is_some_and(|s| s.stage == SessionStage::Full);
        if !ok {
            return Ok(false);
        }
        let Some(mut s) = st.sessions.remove(&old.to_hex()) else {
            return Ok(false);
        };
        s.token_hash = *new;
        s.last_seen_at = now;
        st.sessions.insert(new.to_hex(), s);
        Ok(true)
    }

    async fn set_view_as(
        &self,
        hash: &TokenHash,
        view_as: Option<Tier>,
    ) -> Result<bool, StoreError> {
        let mut st = self.accounts.borrow_mut();
        let Some(s) = st.sessions.get_mut(&hash.to_hex()) else {
            return Ok(false);
        };
        s.view_as = view_as;
        Ok(true)
    }

    async fn set_reauth(&self, hash: &TokenHash, at: i64) -> Result<bool, StoreError> {
        exact_int("reauth_at", at)?;
        let mut st = self.accounts.borrow_mut();
        let Some(s) = st.sessions.get_mut(&hash.to_hex()) else {
            return Ok(false);
        };
        s.reauth_at = Some(at);
        Ok(true)
    }

    async fn reserve_totp_attempt(
        &self,
        hash: &TokenHash,
        now: i64,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut st = self.accounts.borrow_mut();
        let Some(s) = st.live_session_mut(hash, now) else {
            return Ok(None);
        };
        if s.stage != SessionStage::Pending2fa || s.totp_failures >= max {
            return Ok(None);
        }
        s.totp_failures += 1;
        Ok(Some(s.totp_failures))
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self
            .accounts
            .borrow_mut()
            .sessions
            .remove(&hash.to_hex())
            .is_some())
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let mut st = self.accounts.borrow_mut();
        let before = st.sessions.len();
        st.sessions
            .retain(|_, s| s.user_id != user || keep.is_some_and(|k| *k == s.token_hash));
        Ok(u64::try_from(before - st.sessions.len()).unwrap_or(u64::MAX))
    }

    async fn user_sessions(&self, user: UserId) -> Result<Vec<StoredSession>, StoreError> {
        let st = self.accounts.borrow();
        let mut rows: Vec<(&String, &StoredSession)> = st
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == user)
            .collect();
        rows.sort_by(|(ka, a), (kb, b)| b.last_seen_at.cmp(&a.last_seen_at).then(ka.cmp(kb)));
        Ok(rows.into_iter().map(|(_, s)| s.clone()).collect())
    }

    async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let mut st = self.accounts.borrow_mut();
        let before = st.sessions.len();
        st.sessions
            .retain(|_, s| s.expires_at > now && s.absolute_expires_at > now);
        Ok(u64::try_from(before - st.sessions.len()).unwrap_or(u64::MAX))
    }
}

impl AuthTokenStore for MemoryStore {
    async fn issue_token(&self, new: &NewAuthToken) -> Result<(), StoreError> {
        exact_int("created_at", new.created_at)?;
        exact_int("expires_at", new.expires_at)?;
        let mut st = self.accounts.borrow_mut();
        st.require_user(new.user_id)?;
        if st.tokens.iter().any(|t| t.token_hash == new.token_hash) {
            return Err(StoreError::Conflict("auth_tokens.token_hash"));
        }
        st.tokens
            .retain(|t| !(t.user_id == new.user_id && t.purpose == new.purpose));
        st.last_token_id += 1;
        let id = st.last_token_id;
        st.tokens.push(TokenRow {
            id,
            purpose: new.purpose,
            token_hash: new.token_hash,
            user_id: new.user_id,
            new_email: new.new_email.clone(),
            created_at: new.created_at,
            expires_at: new.expires_at,
            used_at: None,
        });
        Ok(())
    }

    async fn consume_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        exact_int("now", now)?;
        let mut st = self.accounts.borrow_mut();
        let Some(found) = st.tokens.iter().find(|t| {
            &t.token_hash == hash
                && t.purpose == purpose
                && t.used_at.is_none()
                && now < t.expires_at
        }) else {
            return Ok(None);
        };
        let (id, user) = (found.id, found.user_id);
        let superseded = st
            .tokens
            .iter()
            .any(|t| t.user_id == user && t.purpose == purpose && t.id > id);
        if superseded {
            return Ok(None);
        }
        let Some(row) = st.tokens.iter_mut().find(|t| t.id == id) else {
            return Ok(None);
        };
        row.used_at = Some(now);
        Ok(Some(ConsumedToken {
            purpose: row.purpose,
            user_id: row.user_id,
            new_email: row.new_email.clone(),
            created_at: row.created_at,
        }))
    }
}

impl RecoveryCodeStore for MemoryStore {
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        code_hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        exact_int("now", now)?;
        let mut st = self.accounts.borrow_mut();
        st.require_user(user)?;
        st.codes.retain(|c| c.user_id != user);
        st.codes.extend(code_hashes.iter().map(|h| CodeRow {
            user_id: user,
            code_hash: h.clone(),
            used_at: None,
        }));
        Ok(())
    }

    async fn consume_recovery_code(
        &self,
        user: UserId,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        let mut st = self.accounts.borrow_mut();
        match st
            .codes
            .iter_mut()
            .find(|c| c.user_id == user && c.code_hash == code_hash && c.used_at.is_none())
        {
            Some(c) => {
                c.used_at = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn remaining_recovery_codes(&self, user: UserId) -> Result<u32, StoreError> {
        let st = self.accounts.borrow();
        let n = st
            .codes
            .iter()
            .filter(|c| c.user_id == user && c.used_at.is_none())
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

impl LockoutStore for MemoryStore {
    async fn reserve(&self, acct_hash: &str, now: i64) -> Result<Reservation, StoreError> {
        exact_int("now", now)?;
        // Read, apply the rule and write back inside one borrow: no other call can interleave.
        let mut st = self.accounts.borrow_mut();
        let state = st.lockouts.entry(acct_hash.to_owned()).or_default();
        Ok(state.reserve(now))
    }

    async fn record_success(&self, acct_hash: &str) -> Result<(), StoreError> {
        self.accounts.borrow_mut().lockouts.remove(acct_hash);
        Ok(())
    }

    async fn unlock(&self, acct_hash: &str) -> Result<(), StoreError> {
        self.accounts.borrow_mut().lockouts.remove(acct_hash);
        Ok(())
    }

    async fn lockout_state(&self, acct_hash: &str) -> Result<Option<LockoutState>, StoreError> {
        Ok(self.accounts.borrow().lockouts.get(acct_hash).copied())
    }
}
