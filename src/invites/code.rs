//! Invite codes: 192 random bits from a CSPRNG (`rand`'s thread generator, seeded by the operating system), written as 32 URL-safe
//! base64 characters. The database keeps the code's SHA-256 (what accepts look it up by) and
//! the code sealed with a key derived from the JWT secret, which the database does not hold:
//! the sealed bytes are the code XORed with HMAC-SHA256(key, hash), so only a node can show an
//! admin the links it made, and a leaked database opens nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a code.
const CODE_BYTES: usize = 24;
/// Characters in a code.
pub const CODE_CHARS: usize = 32;

/// A new code, its hash and its sealed form.
#[derive(Debug, Clone)]
pub struct Minted {
    pub code: String,
    pub hash: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// Makes and reads invite codes with one node-wide key.
#[derive(Clone)]
pub struct InviteCodes {
    /// HMAC-SHA256 keyed with the sealing key, cloned for each code.
    sealer: Hmac<Sha256>,
}

impl std::fmt::Debug for InviteCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteCodes(..)")
    }
}

impl InviteCodes {
    /// Codes sealed with a key derived from `secret` (the JWT secret).
    pub fn new(secret: &[u8]) -> Result<InviteCodes, hmac::digest::InvalidLength> {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret)?;
        derive.update(b"confab invite codes");
        let key = derive.finalize().into_bytes();
        Ok(InviteCodes {
            sealer: Hmac::<Sha256>::new_from_slice(&key)?,
        })
    }

    /// A fresh code.
    pub fn mint(&self) -> Minted {
        let mut raw = [0u8; CODE_BYTES];
        rand::rng().fill_bytes(&mut raw);
        let code = URL_SAFE_NO_PAD.encode(raw);
        let hash = Sha256::digest(code.as_bytes()).to_vec();
        let sealed = xor(&raw, &self.pad(&hash));
        Minted { code, hash, sealed }
    }

    /// The code sealed as `sealed` under `hash`; `None` if they do not belong together.
    pub fn unseal(&self, hash: &[u8], sealed: &[u8]) -> Option<String> {
        if sealed.len() != CODE_BYTES {
            return None;
        }
        let code = URL_SAFE_NO_PAD.encode(xor(sealed, &self.pad(hash)));
        (self::hash(&code)?.as_slice() == hash).then_some(code)
    }

    fn pad(&self, hash: &[u8]) -> Vec<u8> {
        let mut mac = self.sealer.clone();
        mac.update(hash);
        mac.finalize().into_bytes()[..CODE_BYTES].to_vec()
    }
}

/// The SHA-256 of a well-formed code (32 characters of URL-safe base64); `None` for anything
/// else, which cannot be a code and is refused without a look-up.
pub fn hash(code: &str) -> Option<Vec<u8>> {
    let well_formed = code.len() == CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| Sha256::digest(code.as_bytes()).to_vec())
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_url_safe() {
        let codes = InviteCodes::new(b"secret").unwrap();
        let a = codes.mint();
        let b = codes.mint();
        assert_ne!(a.code, b.code);
        assert_eq!(a.code.len(), CODE_CHARS);
        assert!(hash(&a.code).is_some());
        assert_eq!(hash(&a.code).unwrap(), a.hash);
        // The stored forms do not contain the code.
        assert_ne!(a.sealed, URL_SAFE_NO_PAD.decode(&a.code).unwrap());
    }

    #[test]
    fn only_the_same_key_unseals() {
        let codes = InviteCodes::new(b"secret").unwrap();
        let minted = codes.mint();
        assert_eq!(
            codes.unseal(&minted.hash, &minted.sealed),
            Some(minted.code.clone())
        );
        let other = InviteCodes::new(b"another secret").unwrap();
        assert_eq!(other.unseal(&minted.hash, &minted.sealed), None);
        let mut tampered = minted.sealed.clone();
        tampered[0] ^= 1;
        assert_eq!(codes.unseal(&minted.hash, &tampered), None);
    }

    #[test]
    fn malformed_codes_have_no_hash() {
        assert!(hash("").is_none());
        assert!(hash(&"a".repeat(31)).is_none());
        assert!(hash(&"a".repeat(33)).is_none());
        assert!(hash(&format!("{}/", "a".repeat(31))).is_none());
        assert!(hash(&format!("{}é", "a".repeat(30))).is_none());
    }
}
