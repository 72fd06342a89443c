//! One module per route of the web app (product.md §2).

mod api_docs;
mod features;
mod health;
mod home;
mod legal;
mod not_found;
mod pricing;

pub use api_docs::ApiDocs;
pub use features::Features;
pub use health::Health;
pub use home::Home;
pub use legal::{Privacy, Terms};
pub use not_found::NotFound;
pub use pricing::Pricing;
