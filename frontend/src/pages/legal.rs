//! `/privacy` and `/terms`: the legal pages, rendered from static sections.

use leptos::prelude::*;

use crate::components::set_page_title;

/// One titled section of a legal document.
struct LegalSection {
    /// The section heading.
    heading: &'static str,
    /// Its paragraphs.
    paragraphs: &'static [&'static str],
}

/// The privacy policy.
const PRIVACY: [LegalSection; 6] = [
    LegalSection {
        heading: "What we store",
        paragraphs: &[
            "Your account: email address, username, a salted password hash, two-factor settings and \
             recovery codes (hashed), and your notification, symbol and trading preferences.",
            "What you create: portfolios, trades, journal entries, tags, backtests and API keys (stored \
             only as a keyed hash). Exchange credentials are encrypted with AES-256-GCM and only ever \
             shown masked.",
            "Billing: your plan, its expiry and your payment history. Card and wallet details stay with \
             the payment provider; we never see them.",
        ],
    },
    LegalSection {
        heading: "Cookies and tracking",
        paragraphs: &[
            "We set one strictly necessary cookie: the session cookie that keeps you signed in. There are \
             no advertising or analytics cookies and no third-party scripts on any page.",
        ],
    },
    LegalSection {
        heading: "Logs",
        paragraphs: &[
            "Each request is logged with a request id, the route, the status and timing, and your user or \
             key id when signed in. Logs are kept for 30 days; security events may be kept longer.",
        ],
    },
    LegalSection {
        heading: "Notifications and email",
        paragraphs: &[
            "Push notifications go to your private ntfy topic, which you can regenerate at any time. We \
             send account email (verification, security alerts, receipts, expiry warnings) only.",
        ],
    },
    LegalSection {
        heading: "Your choices",
        paragraphs: &[
            "You can change your email and password, revoke sessions and API keys, and delete your account \
             from the settings pages. Deleting the account removes your personal data, except records we \
             must keep by law, such as payment receipts.",
        ],
    },
    LegalSection {
        heading: "Contact",
        paragraphs: &["Questions about your data: write to the support address shown in your account settings."],
    },
];

/// The terms of service.
const TERMS: [LegalSection; 6] = [
    LegalSection {
        heading: "The service",
        paragraphs: &[
            "CryptoLens Edge detects chart patterns in public market data and presents them as a matrix, \
             lists, charts, signals and notifications. Availability and data freshness are best effort.",
        ],
    },
    LegalSection {
        heading: "Not financial advice",
        paragraphs: &[
            "Patterns, signals and trading levels are automated, informational output. They are not \
             investment advice or a recommendation to buy or sell. You alone decide on your trades and \
             carry their risk; past performance and backtests do not predict future results.",
        ],
    },
    LegalSection {
        heading: "Your account",
        paragraphs: &[
            "Keep your password, recovery codes and API keys secret. One person per account; automated \
             access goes through the REST API and its rate limits, not by scraping the web app.",
        ],
    },
    LegalSection {
        heading: "Plans and payments",
        paragraphs: &[
            "Paid plans run monthly, yearly or for a lifetime. A cancelled plan stays active until the end \
             of the paid period. Refunds follow the payment provider's process.",
        ],
    },
    LegalSection {
        heading: "Acceptable use",
        paragraphs: &[
            "Do not attempt to break, overload or reverse-engineer the service, resell its data, or share \
             paid features with people outside your account.",
        ],
    },
    LegalSection {
        heading: "Changes",
        paragraphs: &[
            "We may update these terms; material changes are announced by email before they take effect.",
        ],
    },
];

/// `/privacy`.
#[component]
pub fn Privacy() -> impl IntoView {
    set_page_title("Privacy");
    view! { <LegalPage title="Privacy policy" sections=&PRIVACY /> }
}

/// `/terms`.
#[component]
pub fn Terms() -> impl IntoView {
    set_page_title("Terms");
    view! { <LegalPage title="Terms of service" sections=&TERMS /> }
}

/// A legal document: title, draft notice and its sections.
#[component]
fn LegalPage(title: &'static str, sections: &'static [LegalSection]) -> impl IntoView {
    view! {
        <article class="page container legal">
            <header class="page-header">
                <p class="eyebrow">"Legal"</p>
                <h1>{title}</h1>
                <p class="notice">"Draft: this text is being reviewed and may change before launch."</p>
            </header>
            {sections
                .iter()
                .map(|s| {
                    view! {
                        <section class="legal-section">
                            <h2>{s.heading}</h2>
                            {s.paragraphs.iter().map(|p| view! { <p>{*p}</p> }).collect_view()}
                        </section>
                    }
                })
                .collect_view()}
        </article>
    }
}
