//! The 2FA enrolment QR code, drawn by our own code as SVG: the `qrcode` crate computes the
//! modules (no image features), and this component draws every dark module into one `<path>`.
//! No image decoding, no script and no inline style, so the strict CSP holds.

use leptos::prelude::*;
use qrcode::{Color, EcLevel, QrCode};

/// The quiet zone around the code, in modules (the standard asks for 4).
const QUIET: usize = 4;

/// The SVG path (`M x y h1 v1 h-1 z` per dark module, runs merged per row) and the size of
/// the code with its quiet zone, in modules.
pub fn qr_path(data: &str) -> Option<(String, usize)> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut d = String::new();
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if colors[y * width + x] == Color::Dark {
                let start = x;
                while x < width && colors[y * width + x] == Color::Dark {
                    x += 1;
                }
                d.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET,
                    y + QUIET,
                    x - start,
                    x - start
                ));
            } else {
                x += 1;
            }
        }
    }
    Some((d, width + 2 * QUIET))
}

/// A QR code of `data` with an accessible name.
#[component]
pub fn QrCodeSvg(
    /// What the code encodes (an `otpauth://` URI).
    data: String,
    /// The accessible name.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    match qr_path(&data) {
        Some((d, size)) => {
            let view_box = format!("0 0 {size} {size}");
            view! {
                <svg class="qr-code" viewBox=view_box role="img" aria-label=label shape-rendering="crispEdges">
                    <rect class="qr-bg" x="0" y="0" width=size.to_string() height=size.to_string() />
                    <path class="qr-dark" d=d />
                </svg>
            }
            .into_any()
        }
        None => view! { <p class="inline-warning">"The QR code could not be drawn; use the key below."</p> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::qr_path;

    #[test]
    fn an_otpauth_uri_becomes_a_path_with_a_quiet_zone() {
        let uri =
            "otpauth://totp/CryptoLens%20Edge:ann?secret=JBSWY3DPEHPK3PXP&issuer=CryptoLens%20Edge";
        let (d, size) = qr_path(uri).unwrap();
        // Version 4+ at level M for this length: 33+ modules plus 2×4 quiet modules.
        assert!(size >= 41, "{size}");
        assert!(
            d.starts_with("M4 4h7v1h-7z"),
            "the top-left finder pattern comes first: {}",
            &d[..20]
        );
        assert!(d.matches('M').count() > 100);
    }
}
