//! Checkout (product.md §6): the request DTO into typed values, the pending payment row, and
//! the provider request bodies as plain serde structs (the HTTP call is the adapter's).
//!
//! Flow: [`CheckoutRequest::parse`] → [`ensure_purchase_allowed`] → [`new_payment`] (insert,
//! get our id) → [`lemonsqueezy_checkout`] or [`nowpayments_invoice`] → POST → return the
//! provider URL. Success/cancel pages only display state; activation only comes from a
//! verified webhook or a server-side status check.

use serde::{Deserialize, Serialize};

use crate::money::{Amount, Currency};
use crate::payment::{PaymentRecord, PaymentStatus};
use crate::plan::{
    external_id, BillingCycle, Offer, PaymentId, Plan, PriceTable, Provider, UserId, VariantTable,
};
use crate::subscription::{Subscription, SubscriptionStatus};

/// LemonSqueezy: create-checkout endpoint.
pub const LEMONSQUEEZY_CHECKOUT_URL: &str = "https://api.lemonsqueezy.com/v1/checkouts";
/// NOWPayments: create-invoice endpoint.
pub const NOWPAYMENTS_INVOICE_URL: &str = "https://api.nowpayments.io/v1/invoice";
/// Longest URL accepted in the configuration.
const MAX_URL_LEN: usize = 2048;
/// The only scheme accepted for URLs handed to providers (product.md §11.24).
const HTTPS_PREFIX: &str = "https://";
/// Product name used in invoice descriptions.
const PRODUCT_NAME: &str = "CryptoLens Edge";

/// A coin NOWPayments may be asked for (product.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coin {
    /// Bitcoin.
    Btc,
    /// Ether.
    Eth,
    /// Tether.
    Usdt,
    /// Litecoin.
    Ltc,
    /// Dogecoin.
    Doge,
}

impl Coin {
    /// Every supported coin (the default allowlist).
    pub const ALL: [Coin; 5] = [Coin::Btc, Coin::Eth, Coin::Usdt, Coin::Ltc, Coin::Doge];

    /// Parses a ticker in upper or lower case (`BTC`, `btc`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|coin| coin.as_str().eq_ignore_ascii_case(text))
    }

    /// The ticker, upper case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Btc => "BTC",
            Self::Eth => "ETH",
            Self::Usdt => "USDT",
            Self::Ltc => "LTC",
            Self::Doge => "DOGE",
        }
    }

    /// NOWPayments' code (lower case), also stored as `payments.crypto_currency`.
    pub fn provider_code(self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

/// Why the checkout configuration is unusable (the worker refuses checkout, not startup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutConfigError {
    /// A URL that is not `https://…`, too long, or has spaces or control characters.
    #[error("checkout URL {name} must be an absolute https URL")]
    Url {
        /// Which setting.
        name: &'static str,
    },
    /// The LemonSqueezy store id is not a valid id.
    #[error("LemonSqueezy store id is invalid")]
    StoreId,
    /// The coin allowlist is empty.
    #[error("no crypto coin is allowed")]
    NoCoins,
}

/// Raw checkout settings, as read from config.
#[derive(Debug, Clone)]
pub struct CheckoutSettings {
    /// Prices (lifetime from config).
    pub prices: PriceTable,
    /// LemonSqueezy variant per offer.
    pub variants: VariantTable,
    /// Coins offered (a subset of [`Coin::ALL`]).
    pub coins: Vec<Coin>,
    /// LemonSqueezy store id.
    pub lemonsqueezy_store_id: String,
    /// Where providers send the customer after paying (displays state only).
    pub success_url: String,
    /// Where NOWPayments sends the customer on cancel.
    pub cancel_url: String,
    /// Our NOWPayments webhook URL.
    pub ipn_callback_url: String,
    /// Create LemonSqueezy checkouts in test mode (never in production).
    pub lemonsqueezy_test_mode: bool,
}

/// Validated checkout configuration.
#[derive(Debug, Clone)]
pub struct CheckoutConfig {
    settings: CheckoutSettings,
}

/// Loopback origins a local run may use over plain http (`./run dev`, the tests). Production
/// never gets here with one: it refuses to start unless `APP_URL` is https.
const LOOPBACK_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://localhost"];

fn check_url(url: &str, name: &'static str) -> Result<(), CheckoutConfigError> {
    let host_part = match url.strip_prefix(HTTPS_PREFIX) {
        Some(rest) => rest,
        None if LOOPBACK_PREFIXES.iter().any(|p| {
            url.strip_prefix(p)
                .is_some_and(|r| r.starts_with([':', '/']))
        }) =>
        {
            url.trim_start_matches("http://")
        }
        None => "",
    };
    let ok = url.len() <= MAX_URL_LEN
        && !host_part.is_empty()
        && !host_part.starts_with('/')
        && url.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(CheckoutConfigError::Url { name })
    }
}

impl CheckoutConfig {
    /// Validates the settings.
    ///
    /// # Errors
    /// [`CheckoutConfigError`] for a non-https URL, a bad store id or no coins.
    pub fn new(settings: CheckoutSettings) -> Result<Self, CheckoutConfigError> {
        check_url(&settings.success_url, "success_url")?;
        check_url(&settings.cancel_url, "cancel_url")?;
        check_url(&settings.ipn_callback_url, "ipn_callback_url")?;
        external_id(&settings.lemonsqueezy_store_id).map_err(|_| CheckoutConfigError::StoreId)?;
        if settings.coins.is_empty() {
            return Err(CheckoutConfigError::NoCoins);
        }
        Ok(Self { settings })
    }

    /// The price table.
    pub fn prices(&self) -> &PriceTable {
        &self.settings.prices
    }

    /// The variant table (also needed to read LemonSqueezy events).
    pub fn variants(&self) -> &VariantTable {
        &self.settings.variants
    }

    /// The coin allowlist.
    pub fn coins(&self) -> &[Coin] {
        &self.settings.coins
    }
}

/// The checkout request body (`POST /api/v1/checkout`). Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequestDto {
    /// `lemonsqueezy` or `nowpayments`.
    pub provider: String,
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// `monthly` or `yearly`; absent for lifetime.
    #[serde(default)]
    pub cycle: Option<String>,
    /// A coin for NOWPayments; absent for LemonSqueezy.
    #[serde(default)]
    pub crypto: Option<String>,
}

/// Why a checkout request was refused (400, or 409 for the two state conflicts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    /// Unknown provider.
    #[error("provider must be lemonsqueezy or nowpayments")]
    Provider,
    /// Unknown plan.
    #[error("plan must be pro, premium or lifetime")]
    Plan,
    /// Missing or unknown cycle for pro/premium, or a cycle given for lifetime.
    #[error("cycle must be monthly or yearly for pro and premium, and absent for lifetime")]
    Cycle,
    /// Missing, unknown or not-allowed coin for NOWPayments.
    #[error("crypto must be one of the offered coins")]
    Coin,
    /// A coin was given for LemonSqueezy.
    #[error("crypto is only for nowpayments")]
    CoinNotExpected,
    /// The user already holds a valid lifetime subscription.
    #[error("a lifetime subscription is already active")]
    AlreadyLifetime,
    /// The user's subscription is suspended.
    #[error("the subscription is suspended")]
    Suspended,
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    /// LemonSqueezy hosted checkout.
    LemonSqueezy,
    /// NOWPayments invoice in this coin.
    NowPayments(Coin),
}

/// A validated checkout request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutRequest {
    method: PaymentMethod,
    offer: Offer,
}

impl CheckoutRequest {
    /// Validates the DTO against the allowlists (product.md §6, §11.17).
    ///
    /// # Errors
    /// [`CheckoutError`] naming the first invalid field.
    pub fn parse(dto: &CheckoutRequestDto, config: &CheckoutConfig) -> Result<Self, CheckoutError> {
        let provider = Provider::parse(&dto.provider).map_err(|_| CheckoutError::Provider)?;
        let plan = Plan::parse(&dto.plan).map_err(|_| CheckoutError::Plan)?;
        let cycle = dto
            .cycle
            .as_deref()
            .map(BillingCycle::parse)
            .transpose()
            .map_err(|_| CheckoutError::Cycle)?;
        let offer = Offer::new(plan, cycle).map_err(|_| CheckoutError::Cycle)?;
        let method = match (provider, dto.crypto.as_deref()) {
            (Provider::LemonSqueezy, None) => PaymentMethod::LemonSqueezy,
            (Provider::LemonSqueezy, Some(_)) => return Err(CheckoutError::CoinNotExpected),
            (Provider::NowPayments, Some(text)) => {
                let coin = Coin::parse(text)
                    .filter(|c| config.coins().contains(c))
                    .ok_or(CheckoutError::Coin)?;
                PaymentMethod::NowPayments(coin)
            }
            (Provider::NowPayments, None) => return Err(CheckoutError::Coin),
        };
        Ok(Self { method, offer })
    }

    /// How the customer pays.
    pub fn method(&self) -> PaymentMethod {
        self.method
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        match self.method {
            PaymentMethod::LemonSqueezy => Provider::LemonSqueezy,
            PaymentMethod::NowPayments(_) => Provider::NowPayments,
        }
    }

    /// What is bought.
    pub fn offer(&self) -> Offer {
        self.offer
    }
}

/// Refuses a purchase the user must not make: anything while a valid lifetime subscription
/// runs, or while the subscription is suspended (a payment would not lift the suspension).
///
/// # Errors
/// [`CheckoutError::AlreadyLifetime`] or [`CheckoutError::Suspended`].
pub fn ensure_purchase_allowed(
    subscription: Option<&Subscription>,
    now: i64,
) -> Result<(), CheckoutError> {
    match subscription {
        Some(s) if s.status == SubscriptionStatus::Suspended => Err(CheckoutError::Suspended),
        Some(s) if s.is_valid_lifetime(now) => Err(CheckoutError::AlreadyLifetime),
        _ => Ok(()),
    }
}

/// The `pending` payment row a checkout creates, before its id is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// Buyer.
    pub user_id: UserId,
    /// Provider.
    pub provider: Provider,
    /// What is bought.
    pub offer: Offer,
    /// Price from the table.
    pub amount: Amount,
    /// USD.
    pub currency: Currency,
    /// NOWPayments coin (stored lower-case).
    pub crypto_currency: Option<Coin>,
    /// Always `pending`.
    pub status: PaymentStatus,
    /// Creation time.
    pub created_at: i64,
}

impl NewPayment {
    /// The record once stored under `id`.
    pub fn into_record(self, id: PaymentId) -> PaymentRecord {
        PaymentRecord {
            id: Some(id),
            user_id: self.user_id,
            provider: self.provider,
            external_id: None,
            offer: self.offer,
            amount: self.amount,
            currency: self.currency,
            crypto_currency: self.crypto_currency.map(Coin::provider_code),
            actually_paid: None,
            status: self.status,
            flagged: false,
            completed_at: None,
            last_event_at: None,
        }
    }
}

/// The pending payment for a validated request, priced from the table in USD.
pub fn new_payment(
    user_id: UserId,
    request: &CheckoutRequest,
    config: &CheckoutConfig,
    now: i64,
) -> NewPayment {
    NewPayment {
        user_id,
        provider: request.provider(),
        offer: request.offer(),
        amount: config.prices().price(request.offer()),
        currency: Currency::USD,
        crypto_currency: match request.method() {
            PaymentMethod::NowPayments(coin) => Some(coin),
            PaymentMethod::LemonSqueezy => None,
        },
        status: PaymentStatus::Pending,
        created_at: now,
    }
}

/// `meta.custom_data` as LemonSqueezy returns it in every webhook (all strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyCustomData {
    /// Our user id.
    pub user_id: String,
    /// `pro`, `premium` or `lifetime`.
    pub plan: &'static str,
    /// `monthly`, `yearly` or `lifetime`.
    pub billing_cycle: &'static str,
    /// Our payment id.
    pub payment_id: String,
}

/// `data.attributes.checkout_data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyCheckoutData {
    /// Prefills the checkout; omitted when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Our custom data.
    pub custom: LemonSqueezyCustomData,
}

/// `data.attributes.product_options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyProductOptions {
    /// Where the customer lands after paying.
    pub redirect_url: String,
}

/// `data.attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyCheckoutAttributes {
    /// Customer and custom data.
    pub checkout_data: LemonSqueezyCheckoutData,
    /// Redirect.
    pub product_options: LemonSqueezyProductOptions,
    /// Test-mode checkout.
    pub test_mode: bool,
}

/// A JSON:API resource identifier (`{"type": "stores", "id": "1"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceId {
    /// Resource type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Id.
    pub id: String,
}

/// A JSON:API to-one relationship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relationship {
    /// The related resource.
    pub data: ResourceId,
}

/// `data.relationships`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyRelationships {
    /// Our store.
    pub store: Relationship,
    /// The variant for the offer.
    pub variant: Relationship,
}

/// `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyCheckoutResource {
    /// Always `checkouts`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Attributes.
    pub attributes: LemonSqueezyCheckoutAttributes,
    /// Store and variant.
    pub relationships: LemonSqueezyRelationships,
}

/// The body of `POST` [`LEMONSQUEEZY_CHECKOUT_URL`] (`application/vnd.api+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LemonSqueezyCheckoutBody {
    /// The checkout resource.
    pub data: LemonSqueezyCheckoutResource,
}

/// The LemonSqueezy checkout for our stored pending payment `payment_id`.
pub fn lemonsqueezy_checkout(
    config: &CheckoutConfig,
    payment_id: PaymentId,
    payment: &NewPayment,
    email: Option<&str>,
) -> LemonSqueezyCheckoutBody {
    let settings = &config.settings;
    LemonSqueezyCheckoutBody {
        data: LemonSqueezyCheckoutResource {
            kind: "checkouts",
            attributes: LemonSqueezyCheckoutAttributes {
                checkout_data: LemonSqueezyCheckoutData {
                    email: email.map(str::to_owned),
                    custom: LemonSqueezyCustomData {
                        user_id: payment.user_id.to_string(),
                        plan: payment.offer.plan().as_str(),
                        billing_cycle: payment.offer.cycle_str(),
                        payment_id: payment_id.to_string(),
                    },
                },
                product_options: LemonSqueezyProductOptions {
                    redirect_url: settings.success_url.clone(),
                },
                test_mode: settings.lemonsqueezy_test_mode,
            },
            relationships: LemonSqueezyRelationships {
                store: Relationship {
                    data: ResourceId {
                        kind: "stores",
                        id: settings.lemonsqueezy_store_id.clone(),
                    },
                },
                variant: Relationship {
                    data: ResourceId {
                        kind: "variants",
                        id: settings.variants.variant(payment.offer).to_owned(),
                    },
                },
            },
        },
    }
}

/// The body of `POST` [`NOWPAYMENTS_INVOICE_URL`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NowPaymentsInvoiceBody {
    /// Price in USD (a JSON number, e.g. `19.0`).
    pub price_amount: Amount,
    /// `usd`.
    pub price_currency: String,
    /// The coin (lower case).
    pub pay_currency: String,
    /// Our payment id: comes back as `order_id` in every IPN.
    pub order_id: String,
    /// Shown to the customer.
    pub order_description: String,
    /// Our webhook URL.
    pub ipn_callback_url: String,
    /// After paying.
    pub success_url: String,
    /// On cancel.
    pub cancel_url: String,
}

/// The NOWPayments invoice for our stored pending payment `payment_id`; `None` when the payment
/// is not a NOWPayments one.
pub fn nowpayments_invoice(
    config: &CheckoutConfig,
    payment_id: PaymentId,
    payment: &NewPayment,
) -> Option<NowPaymentsInvoiceBody> {
    let coin = payment.crypto_currency?;
    let settings = &config.settings;
    Some(NowPaymentsInvoiceBody {
        price_amount: payment.amount,
        price_currency: payment.currency.to_lowercase(),
        pay_currency: coin.provider_code(),
        order_id: payment_id.to_string(),
        order_description: format!(
            "{PRODUCT_NAME} {} {}",
            payment.offer.plan().as_str(),
            payment.offer.cycle_str()
        ),
        ipn_callback_url: settings.ipn_callback_url.clone(),
        success_url: settings.success_url.clone(),
        cancel_url: settings.cancel_url.clone(),
    })
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_http() {
        for ok in [
            "https://cryptolens.example/settings/billing",
            "http://127.0.0.1:8787/upgrade",
            "http://localhost:8787/api/v1/webhooks/nowpayments",
        ] {
            assert!(check_url(ok, "u").is_ok(), "{ok}");
        }
        for bad in [
            "http://cryptolens.example/upgrade",
            "http://127.0.0.1.evil.example/x",
            "http://localhost.evil.example/x",
            "ftp://127.0.0.1/x",
            "https:///x",
            "https://exa mple.com",
        ] {
            assert!(check_url(bad, "u").is_err(), "{bad}");
        }
    }
}
