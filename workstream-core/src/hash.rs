//! Canonical JSON and sha256 hashes in the `sha256:<hex>` form.
//!
//! The canonical form sorts object keys by their UTF-8 bytes, writes no whitespace and escapes
//! strings as `serde_json` does. It does not depend on how the map type of `serde_json` is
//! configured, so feature unification elsewhere in a build cannot change a hash.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` in canonical form: sorted keys, compact separators, UTF-8.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": [true, null, "x"]});
/// assert_eq!(workstream_core::canonical_json(&v), r#"{"a":[true,null,"x"],"b":1}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Null, booleans and numbers have one compact spelling in serde_json.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's string escaping is canonical (RFC 8259 minimal escapes).
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// A sha256 digest, shown as `sha256:<64 lowercase hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash([u8; 32]);

impl Sha256Hash {
    /// Hashes `bytes`.
    ///
    /// ```
    /// let h = workstream_core::Sha256Hash::of(b"abc");
    /// assert_eq!(
    ///     h.to_string(),
    ///     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// );
    /// ```
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text is not a `sha256:<64 hex digits>` hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a hash of the form sha256:<64 lowercase hex digits>")]
pub struct ParseHashError(String);

impl FromStr for Sha256Hash {
    type Err = ParseHashError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || ParseHashError(text.chars().take(80).collect());
        let hex = text.strip_prefix("sha256:").ok_or_else(err)?;
        if hex.len() != 64 {
            return Err(err());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(err)?;
            if !pair.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(err());
            }
            *byte = u8::from_str_radix(pair, 16).map_err(|_| err())?;
        }
        Ok(Self(bytes))
    }
}

/// The hash of a workflow definition: sha256 over its canonical JSON form.
pub type DefinitionHash = Sha256Hash;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_nested_keys_and_escapes() {
        let v = serde_json::json!({"z": {"b": 1, "a": 2}, "é": "q\"\n", "a": 1.5});
        assert_eq!(
            canonical_json(&v),
            "{\"a\":1.5,\"z\":{\"a\":2,\"b\":1},\"é\":\"q\\\"\\n\"}"
        );
    }

    #[test]
    fn hash_round_trips_through_text() {
        let h = Sha256Hash::of(b"workstream");
        let back: Sha256Hash = h.to_string().parse().unwrap();
        assert_eq!(h, back);
        assert!("sha256:xyz".parse::<Sha256Hash>().is_err());
        assert!("md5:00".parse::<Sha256Hash>().is_err());
        let upper = h.to_string().to_uppercase().replace("SHA256", "sha256");
        assert!(upper.parse::<Sha256Hash>().is_err());
    }
}
