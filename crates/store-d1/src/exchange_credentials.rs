//! [`ExchangeCredentialStore`] over D1: the put is one `INSERT … ON CONFLICT (user_id,
//! exchange, label) DO UPDATE … RETURNING` (atomic upsert; id and `created_at` survive a
//! replace; a missing user fails the foreign key → `NotFound("user")`); reads and the delete
//! are one owner-scoped statement each.

use crate::values::{int, opt_text, read_int, text};
use crate::{changes, D1Store};
use cl_app::ports::exchange_credentials::{
    CredentialId, ExchangeCredentialStore, SealedCredential, StoredCredential,
};
use cl_app::ports::{StoreError, UserId};
use serde::Deserialize;

const TABLE: &str = "exchange_credentials";

const COLUMNS: &str = "id, user_id, exchange, label, api_key_enc, api_secret_enc, \
passphrase_enc, enc_key_id, last4, created_at, updated_at";

#[derive(Debug, Deserialize)]
struct Row {
    id: f64,
    user_id: f64,
    exchange: String,
    label: String,
    api_key_enc: String,
    api_secret_enc: String,
    passphrase_enc: Option<String>,
    enc_key_id: String,
    last4: String,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<Row> for StoredCredential {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        let id = read_int(TABLE, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredCredential {
            id: CredentialId(id),
            sealed: SealedCredential {
                user_id: UserId(read_int(TABLE, at, "user_id", r.user_id)?),
                exchange: r.exchange,
                label: r.label,
                api_key_enc: r.api_key_enc,
                api_secret_enc: r.api_secret_enc,
                passphrase_enc: r.passphrase_enc,
                enc_key_id: r.enc_key_id,
                last4: r.last4,
            },
            created_at: read_int(TABLE, at, "created_at", r.created_at)?,
            updated_at: read_int(TABLE, at, "updated_at", r.updated_at)?,
        })
    }
}

impl ExchangeCredentialStore for D1Store {
    async fn put_credential(
        &self,
        new: &SealedCredential,
        now: i64,
    ) -> Result<StoredCredential, StoreError> {
        new.validate()?;
        let sql = format!(
            "INSERT INTO exchange_credentials (user_id, exchange, label, api_key_enc, \
             api_secret_enc, passphrase_enc, enc_key_id, last4, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
             ON CONFLICT (user_id, exchange, label) DO UPDATE SET \
             api_key_enc = excluded.api_key_enc, api_secret_enc = excluded.api_secret_enc, \
             passphrase_enc = excluded.passphrase_enc, enc_key_id = excluded.enc_key_id, \
             last4 = excluded.last4, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let stmt = self.stmt(
            &sql,
            &[
                int("exchange_credentials.user_id", new.user_id.0)?,
                text(&new.exchange),
                text(&new.label),
                text(&new.api_key_enc),
                text(&new.api_secret_enc),
                opt_text(new.passphrase_enc.as_deref()),
                text(&new.enc_key_id),
                text(&new.last4),
                int("exchange_credentials.updated_at", now)?,
            ],
        )?;
        self.opt_row::<Row, StoredCredential>(TABLE, stmt, "user")
            .await?
            .ok_or_else(|| StoreError::Unavailable("upsert returned no row".into()))
    }

    async fn credentials_of(&self, user: UserId) -> Result<Vec<StoredCredential>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_credentials WHERE user_id = ?1 \
             ORDER BY exchange, label"
        );
        let stmt = self.stmt(&sql, &[int("exchange_credentials.user_id", user.0)?])?;
        self.rows::<Row, StoredCredential>(TABLE, stmt, "user")
            .await
    }

    async fn delete_credentials(&self, user: UserId) -> Result<u32, StoreError> {
        let stmt = self.stmt(
            "DELETE FROM exchange_credentials WHERE user_id = ?1",
            &[int("exchange_credentials.user_id", user.0)?],
        )?;
        let res = self.exec(stmt, "user").await?;
        Ok(u32::try_from(changes(&res)?).unwrap_or(u32::MAX))
    }
}
