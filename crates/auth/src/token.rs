//! Token strings: at least 32 random bytes, base64url, stored only as their SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

/// A new token string (48 random bytes → 64 base64url characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 48];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token's SHA-256: what a process's cache keys it by.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The form a token is stored and looked up in: its SHA-256 in lowercase hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// The bytes of base64url (what [`new_token`] writes).
const TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

/// Whether a string could be a token we issued (cheap check before any lookup).
pub fn plausible(token: &str) -> bool {
    // Every byte looked at (no early exit), which the compiler turns into wide loads.
    (32..=512).contains(&token.len())
        && token
            .bytes()
            .fold(true, |ok, b| ok & TOKEN_BYTES[usize::from(b)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert!(plausible(&a));
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), hex::encode(token_digest(&a)));
        assert_ne!(token_hash(&a), a);
        assert!(!plausible("short"));
        assert!(!plausible(&"a b".repeat(20)));
        assert!(!plausible(&format!("{a}=")));
        assert!(!plausible(&format!("{a}\u{e9}")));
        assert!(plausible(&"-_09azAZ".repeat(8)));
    }
}
