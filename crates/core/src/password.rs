//! The password scheme. A stored credential is argon2id over the lowercase hex SHA-512 of the
//! password, so one stored value verifies both a plain password (IAM sends it as is) and the
//! SHA-512 hex digest a ZStack client sends instead of the password.
//!
//! Hashing is bounded: [`hash`] and [`verify`] run on the blocking pool, at most
//! [`concurrency`] at a time (a FIFO queue behind them), each in one of that many
//! pre-allocated argon2 memory buffers that are reused, so memory stays flat however many
//! logins arrive at once. New hashes use [`PARAMS`] (argon2id, m = 7 MiB, t = 5, p = 1); stored
//! hashes carry their own parameters in their PHC string and keep verifying (the argon2 crate's
//! former default, m = 19 MiB, t = 2, borrows a buffer of its own size for the call).
//! [`verify`] with no stored credential (an unknown user) costs the same as a real check.

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha512};
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::Semaphore;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Memory cost of new hashes, KiB (one buffer of this size per concurrent hash).
pub const M_COST_KIB: u32 = 7 * 1024;
/// Passes over memory of new hashes.
pub const T_COST: u32 = 5;

/// The argon2id parameters of new hashes (OWASP's m = 7 MiB, t = 5, p = 1 option: the cost
/// of its m = 19 MiB, t = 2 default in a third of the memory).
pub static PARAMS: LazyLock<Params> = LazyLock::new(|| {
    Params::new(M_COST_KIB, T_COST, 1, Some(Params::DEFAULT_OUTPUT_LEN)).unwrap_or(Params::DEFAULT)
});

/// Stored hashes asking for more memory than this (KiB) are refused rather than computed.
const MAX_M_COST_KIB: u32 = 256 * 1024;

/// How many hashes run at once: the machine's cores but one (left for everything else), at
/// least 1, at most 4.
pub fn concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .clamp(1, 4)
}

struct Pool {
    permits: Arc<Semaphore>,
    buffers: Mutex<Vec<Vec<Block>>>,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    permits: Arc::new(Semaphore::new(concurrency())),
    buffers: Mutex::new(Vec::new()),
});

impl Pool {
    /// A buffer for [`PARAMS`]: a free one, else a new one (at most one per permit exists,
    /// since buffers are only taken under a permit and always given back).
    fn take(&self) -> Vec<Block> {
        let free = self.buffers.lock().ok().and_then(|mut b| b.pop());
        free.unwrap_or_else(|| vec![Block::default(); PARAMS.block_count()])
    }

    fn give(&self, buffer: Vec<Block>) {
        if let Ok(mut b) = self.buffers.lock() {
            b.push(buffer);
        }
    }
}

/// Run `work` on the blocking pool under a hashing permit with a pooled buffer. The permit
/// and the buffer move into the blocking task, so a caller that goes away (a client hung up)
/// cannot let more than [`concurrency`] hashes run at once.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Option<T> {
    let permit = POOL.permits.clone().acquire_owned().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut buffer = POOL.take();
        let out = work(&mut buffer);
        POOL.give(buffer);
        out
    })
    .await
    .ok()
}

fn sha512_hex(plain: &str) -> String {
    hex::encode(Sha512::digest(plain.as_bytes()))
}

/// Hash `input` with [`PARAMS`] in `buffer` into a PHC string.
fn hash_with(input: &[u8], buffer: &mut [Block]) -> Result<String, PasswordError> {
    let err = |e: &dyn std::fmt::Display| PasswordError(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| err(&e))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(input, salt_raw, &mut out, buffer)
        .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&*PARAMS).try_into().map_err(|e| err(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// Check `input` against a stored PHC string, in `buffer` when it is large enough.
fn verify_with(stored: &str, input: &[u8], buffer: &mut [Block]) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(phc.algorithm),
        Params::try_from(&phc),
        phc.salt,
        phc.hash,
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    if params.m_cost() > MAX_M_COST_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let done = if params.block_count() <= buffer.len() {
        argon.hash_password_into_with_memory(input, salt_raw, &mut out, buffer)
    } else {
        let mut own = vec![Block::default(); params.block_count()];
        argon.hash_password_into_with_memory(input, salt_raw, &mut out, &mut own)
    };
    done.is_ok() && Output::new(&out).is_ok_and(|got| got == expected)
}

/// A credential nothing verifies against, with [`PARAMS`]: checking a password against it
/// costs what checking a real one does.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let mut hash = [0u8; Params::DEFAULT_OUTPUT_LEN];
    OsRng.fill_bytes(&mut hash);
    let salt = SaltString::generate(&mut OsRng);
    let params: Option<ParamsString> = (&*PARAMS).try_into().ok();
    match (Output::new(&hash), params) {
        (Ok(output), Some(params)) => PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string(),
        _ => String::new(),
    }
});

/// Hash a plain password for storage, bounded (see the module docs).
pub async fn hash(plain: &str) -> Result<String, PasswordError> {
    let input = sha512_hex(plain);
    bounded(move |buffer| hash_with(input.as_bytes(), buffer))
        .await
        .unwrap_or_else(|| Err(PasswordError("the hashing task ended early".into())))
}

/// Verify a plain password against a stored credential, bounded (see the module docs).
/// `None` (no such user, or no password) verifies against a dummy credential with the same
/// parameters, so it costs the same and is `false`.
pub async fn verify(stored: Option<&str>, plain: &str) -> bool {
    verify_digest(stored, &sha512_hex(plain)).await
}

/// Verify the SHA-512 hex of a password (what ZStack clients send), bounded, like [`verify`].
pub async fn verify_digest(stored: Option<&str>, digest_hex: &str) -> bool {
    let real = stored.is_some();
    let stored = stored.map_or_else(|| DUMMY.clone(), str::to_string);
    let input = digest_hex.to_ascii_lowercase();
    let ok = bounded(move |buffer| verify_with(&stored, input.as_bytes(), buffer))
        .await
        .unwrap_or(false);
    ok && real
}

/// Hash a plain password for storage, unbounded and blocking: the caller runs it on a
/// blocking thread. Prefer [`hash`].
pub fn hash_password(plain: &str) -> Result<String, PasswordError> {
    let mut buffer = vec![Block::default(); PARAMS.block_count()];
    hash_with(sha512_hex(plain).as_bytes(), &mut buffer)
}

/// Verify a plain password against a stored credential, unbounded and blocking. Prefer
/// [`verify`].
pub fn verify_password(stored: &str, plain: &str) -> bool {
    verify_sha512_hex(stored, &sha512_hex(plain))
}

/// Verify the SHA-512 hex of a password against a stored credential, unbounded and
/// blocking. Prefer [`verify_digest`].
pub fn verify_sha512_hex(stored: &str, digest_hex: &str) -> bool {
    let mut buffer = vec![Block::default(); PARAMS.block_count()];
    verify_with(
        stored,
        digest_hex.to_ascii_lowercase().as_bytes(),
        &mut buffer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

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

    #[test]
    fn new_hashes_use_the_small_parameters() {
        let stored = hash_password("s3cret-Passw0rd").expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{stored}"
        );
    }

    #[test]
    fn hashes_made_with_the_former_default_parameters_still_verify() {
        let salt = SaltString::generate(&mut OsRng);
        let legacy = Argon2::default()
            .hash_password(sha512_hex("old-Passw0rd").as_bytes(), &salt)
            .expect("hash")
            .to_string();
        assert!(legacy.contains("m=19456,t=2,p=1"), "{legacy}");
        assert!(verify_password(&legacy, "old-Passw0rd"));
        assert!(!verify_password(&legacy, "old-passw0rd"));
    }

    #[tokio::test]
    async fn bounded_paths_verify_and_the_dummy_never_does() {
        let stored = hash("s3cret-Passw0rd").await.expect("hash");
        assert!(verify(Some(&stored), "s3cret-Passw0rd").await);
        assert!(!verify(Some(&stored), "wrong").await);
        assert!(!verify(None, "s3cret-Passw0rd").await);
        assert!(!verify(Some(DUMMY.as_str()), "").await);
        assert!(
            DUMMY.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{}",
            *DUMMY
        );
        assert!(verify_digest(Some(&stored), &sha512_hex("s3cret-Passw0rd").to_uppercase()).await);
    }
}
