//! Secrets of the class server: learners' tokens and the instructor key are 256 random bits
//! from the operating system (ring's `SystemRandom`, i.e. getrandom), shown once and stored
//! only as their SHA-256; a presented secret is hashed and compared with every stored hash in
//! constant time (`subtle`), so neither the comparison nor the lookup tells how close a guess
//! was.

use ring::rand::SecureRandom;
use subtle::ConstantTimeEq;

/// The operating system had no random bytes to give (ring does not say why).
#[derive(Debug, thiserror::Error)]
#[error("the operating system gave no random bytes")]
pub struct NoRandom;

/// A new secret: 32 random bytes as 64 lowercase hex digits.
pub fn new_secret() -> Result<String, NoRandom> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| NoRandom)?;
    Ok(hex(&bytes))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two hashes are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// Which of `rows` a presented secret matches, looking at every row (constant time per row).
pub fn find<'a, T>(
    secret: &str,
    rows: &'a [T],
    hash_of: impl Fn(&T) -> &[u8; 32],
) -> Option<&'a T> {
    let presented = sha256(secret.as_bytes());
    let mut found = None;
    for row in rows {
        if same(&presented, hash_of(row)) {
            found = Some(row);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_hex_and_found_by_hash() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        let rows = [(sha256(a.as_bytes()), "a"), (sha256(b.as_bytes()), "b")];
        assert_eq!(find(&b, &rows, |r| &r.0).map(|r| r.1), Some("b"));
        assert!(find("guess", &rows, |r| &r.0).is_none());
    }
}
