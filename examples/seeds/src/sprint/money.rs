//! Exact money: amounts are decimal strings with two decimals (`"10.00"`) in the ledger and
//! integer cents (`1000`) in arithmetic. No floating point touches an amount.

/// Cents in a decimal string of the form `DIGITS.DD` (`"10.00"` → 1000); `None` for
/// anything else (signs, exponents, other precisions, overflow).
pub fn parse_cents(text: &str) -> Option<i64> {
    let (units, cents) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || cents.len() != 2 || !digits(cents) || units.len() > 15 {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let cents: i64 = cents.parse().ok()?;
    units.checked_mul(100)?.checked_add(cents)
}

/// The decimal string of an amount in cents (`1000` → `"10.00"`, `-5` → `"-0.05"`).
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}
