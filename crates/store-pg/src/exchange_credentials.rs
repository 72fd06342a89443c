//! [`ExchangeCredentialStore`] over Postgres: the put is one `INSERT … ON CONFLICT (user_id,
//! exchange, label) DO UPDATE` (atomic upsert; the id and `created_at` survive a replace);
//! reads and the delete are one owner-scoped statement each.

use crate::rows::returned;
use crate::PgStore;
use cl_app::ports::exchange_credentials::{
    CredentialId, ExchangeCredentialStore, SealedCredential, StoredCredential,
};
use cl_app::ports::{exact_int, StoreError, UserId};
use tokio_postgres::types::Type;
use tokio_postgres::Row;

const COLUMNS: &str = "id, user_id, exchange, label, api_key_enc, api_secret_enc, \
passphrase_enc, enc_key_id, last4, created_at, updated_at";

const PUT: &str = "\
INSERT INTO exchange_credentials (user_id, exchange, label, api_key_enc, api_secret_enc,
    passphrase_enc, enc_key_id, last4, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
ON CONFLICT (user_id, exchange, label) DO UPDATE SET api_key_enc = EXCLUDED.api_key_enc,
    api_secret_enc = EXCLUDED.api_secret_enc, passphrase_enc = EXCLUDED.passphrase_enc,
    enc_key_id = EXCLUDED.enc_key_id, last4 = EXCLUDED.last4, updated_at = EXCLUDED.updated_at
RETURNING id, user_id, exchange, label, api_key_enc, api_secret_enc, passphrase_enc,
    enc_key_id, last4, created_at, updated_at";

const DELETE: &str = "DELETE FROM exchange_credentials WHERE user_id = $1 RETURNING id";

fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    col: &str,
) -> Result<T, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt("exchange_credentials", None, e))
}

fn credential(row: &Row) -> Result<StoredCredential, StoreError> {
    Ok(StoredCredential {
        id: CredentialId(get(row, "id")?),
        sealed: SealedCredential {
            user_id: UserId(get(row, "user_id")?),
            exchange: get(row, "exchange")?,
            label: get(row, "label")?,
            api_key_enc: get(row, "api_key_enc")?,
            api_secret_enc: get(row, "api_secret_enc")?,
            passphrase_enc: get(row, "passphrase_enc")?,
            enc_key_id: get(row, "enc_key_id")?,
            last4: get(row, "last4")?,
        },
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

impl ExchangeCredentialStore for PgStore<'_> {
    async fn put_credential(
        &self,
        new: &SealedCredential,
        now: i64,
    ) -> Result<StoredCredential, StoreError> {
        new.validate()?;
        exact_int("exchange_credentials.updated_at", now)?;
        let rows = self
            .query(
                PUT,
                &[
                    (&new.user_id.0, Type::INT8),
                    (&new.exchange, Type::TEXT),
                    (&new.label, Type::TEXT),
                    (&new.api_key_enc, Type::TEXT),
                    (&new.api_secret_enc, Type::TEXT),
                    (&new.passphrase_enc, Type::TEXT),
                    (&new.enc_key_id, Type::TEXT),
                    (&new.last4, Type::TEXT),
                    (&now, Type::INT8),
                ],
            )
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => StoreError::NotFound("user"),
                other => other,
            })?;
        returned(&rows, credential, "upsert returned no row")
    }

    async fn credentials_of(&self, user: UserId) -> Result<Vec<StoredCredential>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_credentials WHERE user_id = $1 \
             ORDER BY exchange COLLATE \"C\", label COLLATE \"C\""
        );
        self.all(&sql, &[(&user.0, Type::INT8)], credential).await
    }

    async fn delete_credentials(&self, user: UserId) -> Result<u32, StoreError> {
        let rows = self.query(DELETE, &[(&user.0, Type::INT8)]).await?;
        Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
    }
}
