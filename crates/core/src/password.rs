//! The password scheme. A stored credential is argon2id over the lowercase hex SHA-512 of the
//! password, so one stored value verifies both a plain password (IAM sends it as is) and the
//! SHA-512 hex digest a ZStack client sends instead of the password.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use sha2::{Digest, Sha512};

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

fn sha512_hex(plain: &str) -> String {
    hex::encode(Sha512::digest(plain.as_bytes()))
}

/// Hash a plain password for storage.
pub fn hash_password(plain: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(sha512_hex(plain).as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// Verify a plain password against a stored credential.
pub fn verify_password(stored: &str, plain: &str) -> bool {
    verify_sha512_hex(stored, &sha512_hex(plain))
}

/// Verify the SHA-512 hex of a password (what ZStack clients send) against a stored credential.
pub fn verify_sha512_hex(stored: &str, digest_hex: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(digest_hex.to_ascii_lowercase().as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_credential_two_forms() {
        let stored = hash_password("s3cret-Passw0rd").expect("hash");
        assert!(verify_password(&stored, "s3cret-Passw0rd"));
        assert!(!verify_password(&stored, "s3cret-passw0rd"));
        let zstack = sha512_hex("s3cret-Passw0rd");
        assert!(verify_sha512_hex(&stored, &zstack));
        assert!(verify_sha512_hex(&stored, &zstack.to_uppercase()));
        assert!(!verify_sha512_hex(&stored, &sha512_hex("other")));
        assert!(!verify_password("not a hash", "x"));
    }
}
