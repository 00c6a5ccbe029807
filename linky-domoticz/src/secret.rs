//! Secrets that never print, and the encodings the HTTP sinks' requests need (base64,
//! percent-encoding).

use std::fmt;

/// A password that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Password {
        Password(value.into())
    }

    #[cfg_attr(
        not(any(feature = "domoticz", feature = "line-protocol", feature = "mqtt")),
        allow(dead_code)
    )]
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Standard base64's 64 digits.
const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (for Basic authentication and Domoticz's options).
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for position in 0..4 {
            if position <= chunk.len() {
                out.push(BASE64_ALPHABET[(value >> (18 - 6 * position) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (with padding) as text, if it is base64 of UTF-8.
pub(crate) fn decode_base64(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.trim_end_matches('=').bytes() {
        let value = BASE64_ALPHABET.iter().position(|b| *b == byte)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a query value: unreserved characters and those of `keep` are sent as
/// they are, every other byte as `%XX`.
#[cfg_attr(
    not(any(feature = "domoticz", feature = "line-protocol", feature = "mqtt")),
    allow(dead_code)
)]
pub(crate) fn percent_encode(value: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base64, decode_base64};

    #[test]
    fn base64_decodes_what_the_sink_encodes() {
        for text in ["", "A", "Ab", "Abc", "AddDBLogEntry:true;ValueUnits:€"] {
            assert_eq!(
                decode_base64(&base64(text.as_bytes())).as_deref(),
                Some(text)
            );
        }
        assert_eq!(decode_base64("not base64!"), None);
    }
}
