//! Money: ISO 4217 currencies with their minor-unit exponents, and amounts held as integer minor
//! units. Never floating point (brief, non-negotiable 5).
//!
//! Decimal arithmetic (fx conversion, percentage tolerances, policy thresholds) uses
//! `rust_decimal::Decimal`, which is exact for the values a policy can express.
//! No I/O here.

use rust_decimal::Decimal;
use std::fmt;

/// Active ISO 4217 codes and their minor-unit exponents (ISO 4217 amendment 176 list).
const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// An ISO 4217 currency: a three-letter code with its minor-unit exponent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// Looks up an ISO 4217 code (upper case, exactly three letters).
    pub fn from_code(code: &str) -> Option<Currency> {
        let idx = ISO_4217.binary_search_by(|(c, _)| (*c).cmp(code)).ok()?;
        let (c, exponent) = ISO_4217[idx];
        let b = c.as_bytes();
        Some(Currency {
            code: [b[0], b[1], b[2]],
            exponent,
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // INVARIANT: built only from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Digits after the decimal point (USD 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a decimal string is not a valid amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain decimal number (`-12.50`, `1000`).
    #[error("`{0}` is not a decimal number")]
    NotDecimal(String),
    /// More fractional digits than the currency has.
    #[error("`{value}` has more than {exponent} decimal places for {currency}")]
    TooPrecise {
        /// The input.
        value: String,
        /// The currency.
        currency: String,
        /// Its exponent.
        exponent: u8,
    },
    /// Does not fit in 64-bit minor units.
    #[error("`{0}` is out of range")]
    OutOfRange(String),
}

/// Parses a plain decimal string (optional leading `-`, digits, optional `.` and digits).
/// No exponents, no thousands separators, no `+`, no surrounding space.
pub fn parse_decimal(s: &str) -> Result<Decimal, AmountError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits_ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int) || frac.is_some_and(|f| !digits_ok(f)) {
        return Err(AmountError::NotDecimal(s.to_string()));
    }
    s.parse::<Decimal>()
        .map_err(|_| AmountError::OutOfRange(s.to_string()))
}

/// An amount in integer minor units of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Money {
    /// Minor units (cents for USD, yen for JPY).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Parses `"4500.00"` in `currency`; refuses more decimals than the currency allows.
    pub fn parse(s: &str, currency: Currency) -> Result<Money, AmountError> {
        let d = parse_decimal(s)?;
        Money::from_decimal(d, currency).ok_or_else(|| {
            if d.normalize().scale() > u32::from(currency.exponent()) {
                AmountError::TooPrecise {
                    value: s.to_string(),
                    currency: currency.code().to_string(),
                    exponent: currency.exponent(),
                }
            } else {
                AmountError::OutOfRange(s.to_string())
            }
        })
    }

    /// Exact conversion of a decimal in major units; `None` if it needs more precision than the
    /// currency has, or overflows.
    pub fn from_decimal(d: Decimal, currency: Currency) -> Option<Money> {
        let scaled = d.checked_mul(Decimal::from(10_i64.pow(u32::from(currency.exponent()))))?;
        if !scaled.fract().is_zero() {
            return None;
        }
        let minor = rust_decimal::prelude::ToPrimitive::to_i64(&scaled)?;
        Some(Money { minor, currency })
    }

    /// The amount in major units as an exact decimal (`450000` cents → `4500.00`).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, u32::from(self.currency.exponent()))
    }

    /// The absolute value.
    pub fn abs(&self) -> Money {
        Money {
            minor: self.minor.saturating_abs(),
            currency: self.currency,
        }
    }
}

impl fmt::Display for Money {
    /// Canonical string: exactly `exponent` decimals, no currency (`4500.00`, `1000000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

/// Formats a decimal rounded half-even to a currency's exponent (`amount_base` in the audit log).
pub fn format_in(d: Decimal, currency: Currency) -> String {
    let r = d.round_dp_with_strategy(
        u32::from(currency.exponent()),
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    );
    let mut r = r;
    r.rescale(u32::from(currency.exponent()));
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::from_code("USD").unwrap()
    }

    #[test]
    fn table_is_sorted_so_binary_search_works() {
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn exponents() {
        assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert!(Currency::from_code("XYZ").is_none());
        assert!(Currency::from_code("usd").is_none());
    }

    #[test]
    fn parse_and_display_round_trip() {
        let m = Money::parse("4500.00", usd()).unwrap();
        assert_eq!(m.minor, 450_000);
        assert_eq!(m.to_string(), "4500.00");
        assert_eq!(Money::parse("-0.5", usd()).unwrap().minor, -50);
        assert_eq!(Money::parse("12", usd()).unwrap().to_string(), "12.00");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(Money::parse("1000000", jpy).unwrap().minor, 1_000_000);
        assert!(matches!(
            Money::parse("1.5", jpy),
            Err(AmountError::TooPrecise { .. })
        ));
    }

    #[test]
    fn rejects_non_decimals() {
        for bad in [
            "", "-", "1e5", "+1", " 1", "1,000.00", "1.", ".5", "NaN", "1.2.3",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn trailing_zeros_beyond_exponent_are_fine() {
        assert_eq!(Money::parse("1.500", usd()).unwrap().minor, 150);
    }

    #[test]
    fn rounding_is_half_even() {
        assert_eq!(format_in(Decimal::new(1005, 3), usd()), "1.00");
        assert_eq!(format_in(Decimal::new(1015, 3), usd()), "1.02");
    }
}
