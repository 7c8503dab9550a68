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
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only whole UTF-8 strings and ASCII punctuation were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the canonical form of `value` to `out`.
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map is usually already sorted; it is not when another crate in the
            // build turns on its `preserve_order` feature.
            if map.keys().is_sorted_by(|a, b| a.as_bytes() <= b.as_bytes()) {
                write_entries(map.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                write_entries(entries.into_iter(), out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_json_str(s, out),
        // Null, booleans and numbers have one compact spelling in serde_json.
        other => write_plain(other, out),
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(key, out);
        out.push(b':');
        write_canonical(value, out);
    }
}

/// Appends `s` as a JSON string. serde_json's escaping is canonical (RFC 8259 minimal
/// escapes).
pub(crate) fn write_json_str(s: &str, out: &mut Vec<u8>) {
    // serde_json escapes `"`, `\` and the control characters below U+0020, nothing else: a
    // string without them (names, ids, most text) is written as it is, between quotes.
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        write_plain(s, out);
    }
}

/// Whether any byte is `"`, `\` or below 0x20, eight bytes at a time: for each word, the
/// exact "has a byte less than n" and "has a zero byte" tests of bit-twiddling folklore
/// (a borrow can only start at a byte that qualifies, so there are no false answers).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_less = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGHS != 0;
    let has_byte = |v: u64, b: u8| {
        let x = v ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        if has_less(v, 0x20) || has_byte(v, b'"') || has_byte(v, b'\\') {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends the compact serde_json form of a value that has only one (a string, a number, a
/// boolean, null).
pub(crate) fn write_plain<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and these values always serialize.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A sha256 digest, shown as `sha256:<64 lowercase hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash([u8; 32]);

impl Sha256Hash {
    /// Thirty-two zero bytes: the "previous hash" of the first event of every chain.
    pub const ZERO: Sha256Hash = Sha256Hash([0; 32]);

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

impl Sha256Hash {
    /// The `sha256:<hex>` form, as bytes on the stack (this is on the hot path of every
    /// event: `core::fmt` per byte costs more than the rest of the event's JSON).
    pub(crate) fn text(&self) -> [u8; 71] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 71];
        out[..7].copy_from_slice(b"sha256:");
        for (i, byte) in self.0.iter().enumerate() {
            out[7 + 2 * i] = HEX[usize::from(byte >> 4)];
            out[8 + 2 * i] = HEX[usize::from(byte & 0x0f)];
        }
        out
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `text` writes only ASCII.
        f.write_str(std::str::from_utf8(&self.text()).unwrap_or_default())
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Sha256Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes bytes that arrive in pieces, such as an artifact read in chunks.
///
/// ```
/// use workstream_core::{Sha256Hash, Sha256Hasher};
/// let mut hasher = Sha256Hasher::new();
/// hasher.update(b"ab");
/// hasher.update(b"c");
/// assert_eq!(hasher.finish(), Sha256Hash::of(b"abc"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Sha256Hasher(Sha256);

impl Sha256Hasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of every byte fed.
    pub fn finish(self) -> Sha256Hash {
        Sha256Hash(self.0.finalize().into())
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

/// The hash of an event in a chain: `sha256(prev ‖ body)`, where `prev` is the hash of the
/// event before it (32 raw bytes; zero for the first) and `body` its canonical JSON. Every
/// check of a chain, in the ledger and in the stores, computes it here.
pub fn chain_hash(prev: &Sha256Hash, body: &[u8]) -> Sha256Hash {
    let mut hasher = Sha256Hasher::new();
    hasher.update(prev.as_bytes());
    hasher.update(body);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        // Every ASCII character and a few others, at every place of a full 8-byte word (the
        // tail of eight bytes keeps the word full) and in the tail after the words.
        let mut cases: Vec<String> = (0u32..0x80)
            .chain([0xE9, 0x2028, 0x1F600])
            .filter_map(char::from_u32)
            .flat_map(|c| (0..18).map(move |at| format!("{}{c}{}", "x".repeat(at), "é".repeat(4))))
            .collect();
        cases.extend(
            [
                "",
                "plain",
                "quote \"x\"",
                "back\\slash",
                "tab\tnew\nline\r",
                "\u{7f}del",
                "é\u{1}",
            ]
            .map(String::from),
        );
        for case in cases {
            let mut ours = Vec::new();
            super::write_json_str(&case, &mut ours);
            assert_eq!(
                String::from_utf8(ours).expect("UTF-8"),
                serde_json::to_string(&case).expect("serializes"),
                "{case:?}"
            );
        }
    }

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
