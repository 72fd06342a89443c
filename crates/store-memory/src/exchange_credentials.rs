//! The exchange-credentials port in memory: sealed rows keyed by `(user, exchange, label)`.
//! Checks first, then one `RefCell` borrow (atomic like the SQL upsert).

use crate::MemoryStore;
use cl_app::ports::exchange_credentials::{
    CredentialId, ExchangeCredentialStore, SealedCredential, StoredCredential,
};
use cl_app::ports::{exact_int, StoreError, UserId, UserStore};
use std::collections::BTreeMap;

/// The `exchange_credentials` table.
#[derive(Debug, Default)]
pub(crate) struct CredentialState {
    rows: BTreeMap<(UserId, String, String), StoredCredential>,
    last_id: i64,
}

impl ExchangeCredentialStore for MemoryStore {
    async fn put_credential(
        &self,
        new: &SealedCredential,
        now: i64,
    ) -> Result<StoredCredential, StoreError> {
        new.validate()?;
        exact_int("exchange_credentials.updated_at", now)?;
        if self.user(new.user_id).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        let mut st = self.credentials.borrow_mut();
        let key = (new.user_id, new.exchange.clone(), new.label.clone());
        let (id, created_at) = match st.rows.get(&key) {
            Some(old) => (old.id, old.created_at),
            None => {
                st.last_id += 1;
                (CredentialId(st.last_id), now)
            }
        };
        let row = StoredCredential {
            id,
            sealed: new.clone(),
            created_at,
            updated_at: now,
        };
        st.rows.insert(key, row.clone());
        Ok(row)
    }

    async fn credentials_of(&self, user: UserId) -> Result<Vec<StoredCredential>, StoreError> {
        Ok(self
            .credentials
            .borrow()
            .rows
            .iter()
            .filter(|((u, _, _), _)| *u == user)
            .map(|(_, c)| c.clone())
            .collect())
    }

    async fn delete_credentials(&self, user: UserId) -> Result<u32, StoreError> {
        let mut st = self.credentials.borrow_mut();
        let before = st.rows.len();
        st.rows.retain(|(u, _, _), _| *u != user);
        Ok(u32::try_from(before - st.rows.len()).unwrap_or(u32::MAX))
    }
}
