//! Exact money: amounts in minor units (cents) and ISO currency codes.
//!
//! Providers send amounts as integer cents (LemonSqueezy) or as decimal JSON numbers
//! (NOWPayments `price_amount`); the stores keep `REAL` dollars (product.md §10). Everything is
//! compared here as integer cents, so `19`, `19.0`, `19.00` and `1.9e1` all equal 1900 cents
//! and `19.001` is not an amount at all.

use std::fmt;

use serde::{Serialize, Serializer};

/// Cents per currency unit.
pub const MINOR_PER_UNIT: i64 = 100;
/// [`MINOR_PER_UNIT`] as a float, for the stored `REAL` conversions.
const MINOR_PER_UNIT_F64: f64 = 100.0;
/// Decimal places of a minor unit.
const MINOR_DIGITS: i64 = 2;
/// The largest amount accepted: ten billion units (far above any price, far below 2^53).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
/// Tolerance when converting a stored `REAL` back to cents.
const F64_CENT_TOLERANCE: f64 = 1e-6;
/// Length of an ISO 4217 code.
const CURRENCY_CODE_LEN: usize = 3;
/// Largest exponent magnitude accepted in a decimal amount (keeps the arithmetic bounded).
const MAX_EXPONENT_ABS: i64 = 30;
/// Most digits accepted in an exponent.
const MAX_EXPONENT_DIGITS: usize = 4;

/// Why a value is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain decimal number.
    #[error("not a decimal amount")]
    NotANumber,
    /// Below zero.
    #[error("amount is negative")]
    Negative,
    /// Finer than one cent.
    #[error("amount has more than two decimals")]
    SubCent,
    /// Above [`MAX_AMOUNT_MINOR`].
    #[error("amount is too large")]
    TooLarge,
}

/// A non-negative amount in minor units (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// From cents.
    ///
    /// # Errors
    /// [`AmountError::Negative`] or [`AmountError::TooLarge`].
    pub fn from_minor(cents: i64) -> Result<Self, AmountError> {
        if cents < 0 {
            Err(AmountError::Negative)
        } else if cents > MAX_AMOUNT_MINOR {
            Err(AmountError::TooLarge)
        } else {
            Ok(Self(cents))
        }
    }

    /// From whole units (e.g. dollars).
    ///
    /// # Errors
    /// As [`Amount::from_minor`].
    pub fn from_units(units: i64) -> Result<Self, AmountError> {
        Self::from_minor(
            units
                .checked_mul(MINOR_PER_UNIT)
                .ok_or(AmountError::TooLarge)?,
        )
    }

    /// From the catalogue's small constant prices (whole units, known to be in range).
    pub(crate) const fn from_const_units(units: i64) -> Self {
        Self(units * MINOR_PER_UNIT)
    }

    /// From a JSON number lexeme or decimal string (`19`, `19.00`, `1.9e1`), exactly.
    ///
    /// # Errors
    /// [`AmountError`] when the text is not a number, is negative, finer than a cent or too large.
    pub fn parse_decimal(text: &str) -> Result<Self, AmountError> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => {
                let exp_text = rest.get(at + 1..).ok_or(AmountError::NotANumber)?;
                let (sign, exp_digits) = if let Some(d) = exp_text.strip_prefix('-') {
                    (-1, d)
                } else {
                    (1, exp_text.strip_prefix('+').unwrap_or(exp_text))
                };
                if exp_digits.is_empty()
                    || exp_digits.len() > MAX_EXPONENT_DIGITS
                    || !exp_digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(AmountError::NotANumber);
                }
                let exp: i64 = exp_digits.parse().map_err(|_| AmountError::NotANumber)?;
                (rest.get(..at).ok_or(AmountError::NotANumber)?, sign * exp)
            }
            None => (rest, 0),
        };
        if exponent.abs() > MAX_EXPONENT_ABS {
            return Err(AmountError::NotANumber);
        }
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || (mantissa.contains('.') && frac_part.is_empty())
        {
            return Err(AmountError::NotANumber);
        }
        // value = digits × 10^(exponent − len(frac)); cents = value × 10^2.
        let all_digits = format!("{int_part}{frac_part}");
        let significant = all_digits.trim_start_matches('0');
        let frac_len = i64::try_from(frac_part.len()).map_err(|_| AmountError::NotANumber)?;
        let mut scale = exponent - frac_len + MINOR_DIGITS;
        let mut digits = significant.to_owned();
        // Drop trailing zeros while the scale is negative (they do not make a sub-cent value).
        while scale < 0 && digits.ends_with('0') {
            digits.pop();
            scale += 1;
        }
        if digits.is_empty() {
            return Ok(Self(0));
        }
        if scale < 0 {
            return Err(AmountError::SubCent);
        }
        if negative {
            return Err(AmountError::Negative);
        }
        let mut cents: i64 = digits.parse().map_err(|_| AmountError::TooLarge)?;
        for _ in 0..scale {
            cents = cents.checked_mul(10).ok_or(AmountError::TooLarge)?;
        }
        Self::from_minor(cents)
    }

    /// From a stored `REAL` amount in units (e.g. `19.99`).
    ///
    /// # Errors
    /// [`AmountError::NotANumber`] for NaN/∞, otherwise as [`Amount::from_minor`], or
    /// [`AmountError::SubCent`] when the value is not a whole number of cents.
    pub fn from_f64_units(units: f64) -> Result<Self, AmountError> {
        if !units.is_finite() {
            return Err(AmountError::NotANumber);
        }
        if units < 0.0 {
            return Err(AmountError::Negative);
        }
        let scaled = units * MINOR_PER_UNIT_F64;
        // MAX_AMOUNT_MINOR is exactly representable as f64 (it is far below 2^53).
        #[allow(clippy::cast_precision_loss)]
        if scaled > MAX_AMOUNT_MINOR as f64 {
            return Err(AmountError::TooLarge);
        }
        let rounded = scaled.round();
        if (scaled - rounded).abs() > F64_CENT_TOLERANCE {
            return Err(AmountError::SubCent);
        }
        // In range 0..=MAX_AMOUNT_MINOR and integral, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Self::from_minor(rounded as i64)
    }

    /// Cents.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Units as `f64` (what the stores keep).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64_units(self) -> f64 {
        // |cents| ≤ 1e12 < 2^53: exact.
        self.0 as f64 / MINOR_PER_UNIT_F64
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:02}",
            self.0 / MINOR_PER_UNIT,
            self.0 % MINOR_PER_UNIT
        )
    }
}

/// Serialized as a JSON number in units (`19.0`, `19.99`), the form provider APIs take.
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64_units())
    }
}

/// A currency code that is not three ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a three-letter currency code")]
pub struct CurrencyError;

/// An ISO 4217 currency code, stored upper-case (`USD`); parsing ignores case (`usd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; CURRENCY_CODE_LEN]);

impl Currency {
    /// US dollars, the currency of every price (product.md §1).
    pub const USD: Currency = Currency(*b"USD");

    /// Parses three ASCII letters, any case.
    ///
    /// # Errors
    /// [`CurrencyError`] otherwise.
    pub fn parse(text: &str) -> Result<Self, CurrencyError> {
        let bytes: [u8; CURRENCY_CODE_LEN] =
            text.as_bytes().try_into().map_err(|_| CurrencyError)?;
        if bytes.iter().all(u8::is_ascii_alphabetic) {
            Ok(Self(bytes.map(|b| b.to_ascii_uppercase())))
        } else {
            Err(CurrencyError)
        }
    }

    /// The upper-case code.
    pub fn as_str(&self) -> &str {
        // Built only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// The lower-case code (NOWPayments' spelling).
    pub fn to_lowercase(&self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(text: &str) -> Result<i64, AmountError> {
        Amount::parse_decimal(text).map(Amount::minor)
    }

    #[test]
    fn decimal_amounts_are_read_exactly_in_cents() {
        assert_eq!(cents("19"), Ok(1900));
        assert_eq!(cents("19.0"), Ok(1900));
        assert_eq!(cents("19.99"), Ok(1999));
        assert_eq!(cents("19.990"), Ok(1999));
        assert_eq!(cents("1.9e1"), Ok(1900));
        assert_eq!(cents("1E3"), Ok(100_000));
        assert_eq!(cents("4900e-2"), Ok(4900));
        assert_eq!(cents("0"), Ok(0));
        assert_eq!(cents("0.00"), Ok(0));
        assert_eq!(cents("-0"), Ok(0));
    }

    #[test]
    fn sub_cent_negative_and_malformed_amounts_are_rejected() {
        assert_eq!(cents("19.001"), Err(AmountError::SubCent));
        assert_eq!(cents("1e-3"), Err(AmountError::SubCent));
        assert_eq!(cents("-1"), Err(AmountError::Negative));
        assert_eq!(cents("1e40"), Err(AmountError::NotANumber));
        assert_eq!(cents("99999999999999999999"), Err(AmountError::TooLarge));
        for bad in [
            "", "abc", "1.", ".5", "1e", "1e+", "1.2.3", "0x10", " 1", "1,5", "NaN",
        ] {
            assert_eq!(cents(bad), Err(AmountError::NotANumber), "{bad}");
        }
    }

    #[test]
    fn stored_reals_convert_to_cents_and_back() {
        assert_eq!(Amount::from_f64_units(19.99).map(Amount::minor), Ok(1999));
        assert_eq!(Amount::from_f64_units(0.1 + 0.2).map(Amount::minor), Ok(30));
        assert_eq!(
            Amount::from_f64_units(f64::NAN),
            Err(AmountError::NotANumber)
        );
        assert_eq!(Amount::from_f64_units(1.005), Err(AmountError::SubCent));
        assert_eq!(Amount::from_f64_units(-1.0), Err(AmountError::Negative));
        assert!((Amount::from_minor(1999).unwrap().as_f64_units() - 19.99).abs() < 1e-9);
        assert_eq!(Amount::from_minor(1905).unwrap().to_string(), "19.05");
    }

    #[test]
    fn currencies_are_three_letters_in_any_case() {
        assert_eq!(Currency::parse("usd"), Ok(Currency::USD));
        assert_eq!(Currency::parse("USD").unwrap().to_lowercase(), "usd");
        for bad in ["US", "USDT", "U$D", "", "ÜSD"] {
            assert_eq!(Currency::parse(bad), Err(CurrencyError), "{bad}");
        }
    }
}
