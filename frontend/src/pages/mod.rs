//! One module per route of the web app (product.md §2).

mod api_docs;
mod api_keys;
mod auth;
mod chart;
mod dashboard;
mod features;
mod filters;
mod health;
mod home;
mod legal;
mod not_found;
mod notifications;
mod patterns;
mod pricing;
mod settings;
mod signals;

pub use api_docs::ApiDocs;
pub use api_keys::SettingsApiKeys;
pub use auth::{ForgotPassword, Login, Register, ResetPassword, VerifyEmail};
pub use chart::ChartPage;
pub use dashboard::Dashboard;
pub use features::Features;
pub use health::Health;
pub use home::Home;
pub use legal::{Privacy, Terms};
pub use not_found::NotFound;
pub use notifications::SettingsNotifications;
pub use patterns::Patterns;
pub use pricing::Pricing;
pub use settings::{SettingsAccount, SettingsIndex, SettingsSecurity};
pub use signals::{SignalDetail, Signals};
