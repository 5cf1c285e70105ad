//! Identifier generation and validation in the formats the vendor APIs use.
//! Every id that names something kept comes from the operating system's CSPRNG; a request's
//! `X-Request-Id` ([`request_id`]) from the thread's CSPRNG.

use rand::rngs::OsRng;
use rand::{Rng, RngCore};

const ALNUM_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// 32 lowercase hex characters: project, domain, user, group, role ids; ZStack uuids.
pub fn hex32() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A request's id (`X-Request-Id`, 32 lowercase hex) from the thread's CSPRNG (rand's
/// `ThreadRng`: ChaCha seeded from the operating system and reseeded as it goes), so that a
/// request costs no `getrandom` system call (~0.45 µs each, docs/benchmarks.md → stop 32).
pub fn request_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A UUID with hyphens (GaussDB job ids, ServiceStage ids).
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A permanent access key: 20 upper-case alphanumerics.
pub fn access_key() -> String {
    random_from(ALNUM_UPPER, 20)
}

/// A secret key: 40 alphanumerics.
pub fn secret_key() -> String {
    random_from(ALNUM, 40)
}

/// A DBSS id (databases, agents, statements, rules, alarms): 20 characters of `[A-Za-z0-9_-]`,
/// the vendor's shape, whose first is alphanumeric, so no id reads as a command-line flag
/// (`plugboard audit on -xY…` would).
pub fn dbss_database_id() -> String {
    let mut id = random_from(ALNUM, 1);
    id.push_str(&random_from(URL_SAFE, 19));
    id
}

/// `[A-Za-z0-9_-]` in byte order, so ids written with it sort as the numbers they encode.
const SORTABLE: &[u8] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// `n` DBSS statement ids (the 20-character shape of [`dbss_database_id`]) made at `at_micros`:
/// 9 characters of the time (microseconds since the epoch, in an alphabet in byte order, so
/// the first is alphanumeric until the year 2300) then 11 random ones (66 bits from one read of
/// the operating system's CSPRNG for the whole set). Ids made later sort after earlier ones,
/// so a store's index on them grows at its end instead of everywhere.
pub fn dbss_statement_ids(at_micros: i64, n: usize) -> Vec<String> {
    let t = at_micros.max(0) as u64;
    let mut prefix = [0u8; 9];
    for (i, c) in prefix.iter_mut().enumerate() {
        *c = SORTABLE[((t >> (6 * (8 - i))) & 63) as usize];
    }
    let mut random = vec![0u8; n * 11];
    OsRng.fill_bytes(&mut random);
    random
        .chunks(11)
        .map(|r| {
            let mut id = String::with_capacity(20);
            id.extend(prefix.iter().map(|b| *b as char));
            id.extend(r.iter().map(|b| SORTABLE[(b & 63) as usize] as char));
            id
        })
        .collect()
}

/// A random password of `len` alphanumerics.
pub fn password(len: usize) -> String {
    random_from(ALNUM, len)
}

/// Whether `s` is exactly 32 lowercase hex characters.
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` is a GaussDB instance id: 32 lowercase hex characters and `in14`.
pub fn is_gaussdb_instance_id(s: &str) -> bool {
    s.strip_suffix("in14").is_some_and(is_hex32)
}

/// Whether `s` is a hyphenated UUID (GaussDB job ids), in lower case.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// Whether `s` looks like an access key (20 upper-case alphanumerics).
pub fn is_access_key(s: &str) -> bool {
    s.len() == 20
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_hex32(&hex32()));
        assert!(!is_hex32("0C8243400D37468BB4AED3CC94C2911D"));
        assert!(!is_hex32("abc"));
        assert!(is_access_key(&access_key()));
        assert_eq!(secret_key().len(), 40);
        for _ in 0..2000 {
            let id = dbss_database_id();
            assert!(id.as_bytes()[0].is_ascii_alphanumeric(), "{id}");
        }
        let id = dbss_database_id();
        assert_eq!(id.len(), 20);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(uuid().len(), 36);
        assert!(is_uuid(&uuid()));
        assert!(!is_uuid("bf26cf3c-d046-4080-bb45-f114be7afa5"));
        assert!(!is_uuid("bf26cf3c0d046-4080-bb45-f114be7afa5f"));
        assert!(is_gaussdb_instance_id(&format!("{}in14", hex32())));
        assert!(!is_gaussdb_instance_id(&hex32()));
        assert_ne!(hex32(), hex32());
        assert!(is_hex32(&request_id()));
        assert_ne!(request_id(), request_id());
    }

    #[test]
    fn statement_ids_have_the_dbss_shape_and_sort_by_time() {
        let now = 1_780_000_000_000_000; // 2026
        let a = dbss_statement_ids(now, 500);
        let b = dbss_statement_ids(now + 1, 3);
        let later = dbss_statement_ids(now + 3_600_000_000, 1);
        for id in a.iter().chain(&b).chain(&later) {
            assert_eq!(id.len(), 20, "{id}");
            assert!(id.as_bytes()[0].is_ascii_digit(), "{id}");
            assert!(id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        }
        let distinct: std::collections::HashSet<&String> = a.iter().collect();
        assert_eq!(distinct.len(), a.len());
        assert!(a.iter().all(|x| b.iter().all(|y| x < y)));
        assert!(b.iter().all(|x| x < &later[0]));
        // Still alphanumeric first in the year 2299.
        let id = &dbss_statement_ids(10_413_792_000_000_000, 1)[0];
        assert!(id.as_bytes()[0].is_ascii_alphanumeric(), "{id}");
    }
}
