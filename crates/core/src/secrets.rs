//! Sealing of recoverable secrets at rest (access-key secrets, instance passwords) with
//! AES-256-GCM under a master key kept outside the database: `<data-dir>/master.key` (mode
//! 0600, created on first start) or a configured file.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use rand::{rngs::OsRng, RngCore};
use std::io::Write;
use std::path::Path;

const PREFIX: &str = "v1:";

/// Errors loading the master key or opening a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex characters.
    #[error("master key file {0} must hold 64 hex characters")]
    BadKey(String),
    /// A sealed value is corrupt or was sealed under another key.
    #[error("a sealed secret could not be opened (wrong master key or corrupt value)")]
    Open,
}

/// The master key; seals and opens secrets.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Load the key from `path`, creating it (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let io = |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(text.trim())
                .ok_or_else(|| SecretError::BadKey(path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                OsRng.fill_bytes(&mut key);
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                match opts.open(path) {
                    Ok(mut file) => {
                        file.write_all(hex::encode(key).as_bytes()).map_err(io)?;
                        file.sync_all().map_err(io)?;
                        Ok(Self::from_bytes(&key))
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A key from 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        (bytes.len() == 32).then(|| Self::from_bytes(&bytes))
    }

    fn from_bytes(key: &[u8]) -> Self {
        Self {
            cipher: Aes256Gcm::new_from_slice(key).expect("32-byte key"),
        }
    }

    /// Seal `plain` into a printable string (`v1:` + base64 of nonce and ciphertext).
    pub fn seal(&self, plain: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain)
            .expect("AES-GCM encryption does not fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Open a value made by [`MasterKey::seal`].
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SecretError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .ok_or(SecretError::Open)?;
        if raw.len() < 12 {
            return Err(SecretError::Open);
        }
        let (nonce, body) = raw.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| SecretError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_file_mode() {
        let dir = std::env::temp_dir().join(format!("pb-key-{}", crate::ids::hex32()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("master.key");
        let key = MasterKey::load_or_create(&path).expect("create");
        let again = MasterKey::load_or_create(&path).expect("load");
        let sealed = key.seal(b"SK-secret");
        assert!(!sealed.contains("SK-secret"));
        assert_eq!(again.open(&sealed).expect("open"), b"SK-secret");
        let other = MasterKey::from_hex(&"11".repeat(32)).expect("key");
        assert!(other.open(&sealed).is_err());
        assert!(key.open("v1:@@").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
