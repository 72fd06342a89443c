//! The exchange-credentials port's contract: owner scoping, upsert on `(user, exchange,
//! label)`, sealed values stored verbatim, delete of every credential of the owner only, and
//! bad rows refused with nothing written. Its own list ([`CredentialCase`],
//! [`run_credential_case`], [`credential_contract_tests!`]).

use crate::fixtures::ok;
use cl_app::ports::exchange_credentials::{ExchangeCredentialStore, SealedCredential};
use cl_app::ports::{StoreError, UserId, UserStore};
use std::fmt::Debug;

/// Every port the credentials contract needs.
pub trait CredentialStores: ExchangeCredentialStore + UserStore {}
impl<T: ExchangeCredentialStore + UserStore> CredentialStores for T {}

/// One case of the credentials contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialCase {
    /// [`credentials_upsert_per_exchange_and_label`].
    UpsertPerExchangeAndLabel,
    /// [`credentials_are_scoped_by_owner`].
    ScopedByOwner,
    /// [`credentials_bad_rows_write_nothing`].
    BadRowsWriteNothing,
}

impl CredentialCase {
    /// Every case.
    pub const ALL: &'static [CredentialCase] = &[
        Self::UpsertPerExchangeAndLabel,
        Self::ScopedByOwner,
        Self::BadRowsWriteNothing,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UpsertPerExchangeAndLabel => "credentials_upsert_per_exchange_and_label",
            Self::ScopedByOwner => "credentials_are_scoped_by_owner",
            Self::BadRowsWriteNothing => "credentials_bad_rows_write_nothing",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_credential_case<S: CredentialStores>(case: CredentialCase, s: &S) {
    match case {
        CredentialCase::UpsertPerExchangeAndLabel => {
            credentials_upsert_per_exchange_and_label(s).await
        }
        CredentialCase::ScopedByOwner => credentials_are_scoped_by_owner(s).await,
        CredentialCase::BadRowsWriteNothing => credentials_bad_rows_write_nothing(s).await,
    }
}

/// Expands to one `#[test]` per [`CredentialCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! credential_contract_tests {
    ($harness:path) => {
        #[test]
        fn credentials_upsert_per_exchange_and_label() {
            $harness($crate::exchange_credentials::CredentialCase::UpsertPerExchangeAndLabel);
        }
        #[test]
        fn credentials_are_scoped_by_owner() {
            $harness($crate::exchange_credentials::CredentialCase::ScopedByOwner);
        }
        #[test]
        fn credentials_bad_rows_write_nothing() {
            $harness($crate::exchange_credentials::CredentialCase::BadRowsWriteNothing);
        }
    };
}

const T0: i64 = 1_704_067_200_000;

async fn user<S: CredentialStores>(s: &S, n: &str) -> UserId {
    crate::fixtures::user(s, n, T0).await
}

fn sealed(user: UserId, exchange: &str, label: &str, tag: &str) -> SealedCredential {
    SealedCredential {
        user_id: user,
        exchange: exchange.into(),
        label: label.into(),
        api_key_enc: format!("cred1.nonce.key-{tag}"),
        api_secret_enc: format!("cred1.nonce.secret-{tag}"),
        passphrase_enc: (exchange == "okx").then(|| format!("cred1.nonce.pass-{tag}")),
        enc_key_id: "cred1".into(),
        last4: "WXYZ".into(),
    }
}

/// `(exchange, label)` is the key: a second put replaces the values, keeps the id and the
/// creation time; another label is another row; rows come back by exchange then label with
/// their sealed values verbatim.
pub async fn credentials_upsert_per_exchange_and_label<S: CredentialStores>(s: &S) {
    let u = user(s, "alice").await;
    let a = ok(
        s.put_credential(&sealed(u, "binance", "main", "1"), T0)
            .await,
        "put",
    );
    assert_eq!(a.sealed, sealed(u, "binance", "main", "1"));
    assert_eq!((a.created_at, a.updated_at), (T0, T0));
    let b = ok(
        s.put_credential(&sealed(u, "binance", "main", "2"), T0 + 5)
            .await,
        "replace",
    );
    assert_eq!(b.id, a.id);
    assert_eq!((b.created_at, b.updated_at), (T0, T0 + 5));
    assert_eq!(b.sealed.api_key_enc, "cred1.nonce.key-2");
    ok(
        s.put_credential(&sealed(u, "okx", "alt", "3"), T0).await,
        "okx",
    );
    ok(
        s.put_credential(&sealed(u, "binance", "alt", "4"), T0)
            .await,
        "alt",
    );
    let list = ok(s.credentials_of(u).await, "list");
    let keys: Vec<(&str, &str)> = list
        .iter()
        .map(|c| (c.sealed.exchange.as_str(), c.sealed.label.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![("binance", "alt"), ("binance", "main"), ("okx", "alt")]
    );
    assert_eq!(list[1], b);
    assert_eq!(
        list[2].sealed.passphrase_enc.as_deref(),
        Some("cred1.nonce.pass-3")
    );
}

/// Another user's rows are invisible and survive the owner's delete.
pub async fn credentials_are_scoped_by_owner<S: CredentialStores>(s: &S) {
    let a = user(s, "alice").await;
    let b = user(s, "bob").await;
    ok(
        s.put_credential(&sealed(a, "binance", "main", "a"), T0)
            .await,
        "a",
    );
    ok(
        s.put_credential(&sealed(a, "okx", "main", "a2"), T0).await,
        "a2",
    );
    ok(
        s.put_credential(&sealed(b, "binance", "main", "b"), T0)
            .await,
        "b",
    );
    assert_eq!(ok(s.credentials_of(b).await, "b list").len(), 1);
    assert_eq!(ok(s.delete_credentials(a).await, "delete a"), 2);
    assert!(ok(s.credentials_of(a).await, "a list").is_empty());
    let left = ok(s.credentials_of(b).await, "b list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].sealed.api_key_enc, "cred1.nonce.key-b");
    assert_eq!(ok(s.delete_credentials(a).await, "delete again"), 0);
}

/// Unknown owners, empty or long labels and long `last4` are refused; nothing is written.
pub async fn credentials_bad_rows_write_nothing<S: CredentialStores>(s: &S) {
    let u = user(s, "alice").await;
    assert_eq!(
        s.put_credential(&sealed(UserId(u.0 + 999), "binance", "main", "x"), T0)
            .await
            .map(|_| ()),
        Err(StoreError::NotFound("user"))
    );
    for bad in [
        sealed(u, "binance", "", "x"),
        sealed(u, "binance", &"l".repeat(31), "x"),
        SealedCredential {
            last4: "ABCDE".into(),
            ..sealed(u, "binance", "main", "x")
        },
    ] {
        assert!(matches!(
            s.put_credential(&bad, T0).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(ok(s.credentials_of(u).await, "list").is_empty());
}
