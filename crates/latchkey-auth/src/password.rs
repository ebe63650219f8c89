//! Password hashing: argon2id for new hashes, bcrypt accepted for hashes imported from the reference.

use std::sync::OnceLock;

use std::fmt;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

use crate::AuthError;

/// argon2id memory cost in KiB (OWASP's first recommended setting).
const M_COST: u32 = 19_456;
/// argon2id iterations.
const T_COST: u32 = 2;
/// argon2id parallelism.
const P_COST: u32 = 1;

const PARAMS: Params = match Params::new(M_COST, T_COST, P_COST, None) {
    Ok(params) => params,
    // Evaluated at compile time: bad constants fail the build, never a request.
    Err(_) => panic!("invalid argon2 parameters"),
};

/// Stored argon2 hashes asking for more memory (KiB) or iterations than this are rejected unverified, so a
/// corrupt or hostile row cannot make one login allocate gigabytes or spin for minutes.
const MAX_STORED_M_COST: u32 = 262_144;
const MAX_STORED_T_COST: u32 = 16;
/// Same guard for bcrypt: the reference uses cost 12; each step doubles the work.
const MAX_STORED_BCRYPT_COST: u32 = 16;

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. `needs_rehash` is true when the stored hash is not argon2id with the current
    /// parameters (for example a bcrypt hash from the reference), so the caller should store a new hash.
    Valid { needs_rehash: bool },
    /// The password does not match, or the stored hash is not one we can verify.
    Invalid,
}

/// Hashes and verifies passwords. Cheap to clone; holds only the parameters.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
}

/// argon2's working memory for one hash at a time (19 MiB with the current parameters), allocated once and
/// reused: a server keeps one per hashing thread, so hashing memory is bounded by the number of threads and
/// never piles up in the allocator. A stored hash asking for more memory than this (an imported hash with
/// other parameters, up to the guard below) gets a temporary buffer for that one verification.
pub struct HashMemory {
    blocks: Vec<Block>,
}

impl fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashMemory").field("blocks", &self.blocks.len()).finish()
    }
}

impl Default for HashMemory {
    fn default() -> Self {
        HashMemory::new()
    }
}

impl HashMemory {
    /// Memory for the current parameters.
    #[must_use]
    pub fn new() -> HashMemory {
        HashMemory { blocks: vec![Block::default(); PARAMS.block_count()] }
    }

    /// At least `count` blocks: the reused buffer when it is large enough, else a temporary one.
    fn blocks(&mut self, count: usize) -> Blocks<'_> {
        if count <= self.blocks.len() {
            Blocks::Reused(&mut self.blocks[..count])
        } else {
            Blocks::Temporary(vec![Block::default(); count])
        }
    }
}

/// Blocks borrowed from a [`HashMemory`] or allocated for one oversized stored hash.
enum Blocks<'a> {
    Reused(&'a mut [Block]),
    Temporary(Vec<Block>),
}

impl Blocks<'_> {
    fn as_mut_slice(&mut self) -> &mut [Block] {
        match self {
            Blocks::Reused(b) => b,
            Blocks::Temporary(v) => v,
        }
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher { params: PARAMS }
    }
}

impl PasswordHasher {
    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes `password` with argon2id and a fresh random salt, as a PHC string (`$argon2id$v=19$...`).
    /// Allocates its working memory; servers use [`PasswordHasher::hash_in`] with a reused one.
    ///
    /// # Errors
    /// `Hash` if hashing fails (it does not with valid parameters).
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        self.hash_in(password, &mut HashMemory::new())
    }

    /// Like [`PasswordHasher::hash`], working in `memory` instead of allocating 19 MiB.
    ///
    /// # Errors
    /// `Hash` if hashing fails (it does not with valid parameters).
    pub fn hash_in(&self, password: &str, memory: &mut HashMemory) -> Result<String, AuthError> {
        let fail = |e: &dyn fmt::Display| AuthError::Hash(e.to_string());
        let salt_bytes: [u8; Salt::RECOMMENDED_LENGTH] = rand::random();
        let salt = Salt::new(&salt_bytes).map_err(|e| fail(&e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let mut blocks = memory.blocks(self.params.block_count());
        self.argon2()
            .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, blocks.as_mut_slice())
            .map_err(|e| fail(&e))?;
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| fail(&e))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a stored hash: argon2 PHC strings with argon2, `$2a$`/`$2b$`/`$2y$` with
    /// bcrypt (always `needs_rehash`), anything else `Invalid`. Never panics. Allocates argon2's memory;
    /// servers use [`PasswordHasher::verify_in`].
    #[must_use]
    pub fn verify(&self, password: &str, stored: &str) -> Verification {
        self.verify_in(password, stored, &mut HashMemory::new())
    }

    /// Like [`PasswordHasher::verify`], working in `memory`.
    #[must_use]
    pub fn verify_in(&self, password: &str, stored: &str, memory: &mut HashMemory) -> Verification {
        if stored.starts_with("$argon2") {
            self.verify_argon2(password, stored, memory)
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| stored.starts_with(prefix)) {
            verify_bcrypt(password, stored)
        } else {
            Verification::Invalid
        }
    }

    /// Costs one verification with the current parameters and discards the result. Call it when the user is
    /// unknown, so response times do not reveal which emails exist.
    ///
    /// The dummy hash is computed on first use (so the very first call costs a hash as well); call it once at
    /// start-up to take that cost out of the first request.
    pub fn verify_dummy(&self, password: &str) {
        self.verify_dummy_in(password, &mut HashMemory::new());
    }

    /// Like [`PasswordHasher::verify_dummy`], working in `memory`.
    pub fn verify_dummy_in(&self, password: &str, memory: &mut HashMemory) {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            PasswordHasher::default().hash("latchkey dummy password").unwrap_or_else(|_| String::new())
        });
        if dummy.is_empty() {
            // Hashing failed when the dummy was first made; hashing instead costs about the same.
            std::hint::black_box(self.hash_in(password, memory).is_ok());
        } else {
            std::hint::black_box(self.verify_in(password, dummy, memory));
        }
    }

    fn verify_argon2(&self, password: &str, stored: &str, memory: &mut HashMemory) -> Verification {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verification::Invalid;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return Verification::Invalid;
        };
        if params.m_cost() > MAX_STORED_M_COST || params.t_cost() > MAX_STORED_T_COST {
            return Verification::Invalid;
        }
        // Recompute with the algorithm, version, parameters and salt recorded in the stored hash.
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return Verification::Invalid;
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return Verification::Invalid,
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Verification::Invalid;
        };
        let mut out = [0u8; Output::MAX_LENGTH];
        let Some(out) = out.get_mut(..expected.len()) else {
            return Verification::Invalid;
        };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut blocks = memory.blocks(params.block_count());
        if argon2
            .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), out, blocks.as_mut_slice())
            .is_err()
        {
            return Verification::Invalid;
        }
        // `Output`'s equality is constant time.
        if Output::new(out).ok().as_ref() != Some(expected) {
            return Verification::Invalid;
        }
        let current = parsed.algorithm == ARGON2ID_IDENT
            && parsed.version == Some(Version::V0x13.into())
            && params.m_cost() == self.params.m_cost()
            && params.t_cost() == self.params.t_cost()
            && params.p_cost() == self.params.p_cost()
            && parsed.hash.as_ref().map(|h| h.len()) == Some(Params::DEFAULT_OUTPUT_LEN)
            && params.keyid().is_empty()
            && params.data().is_empty();
        Verification::Valid { needs_rehash: !current }
    }
}

fn verify_bcrypt(password: &str, stored: &str) -> Verification {
    // `$2b$12$...`: the cost is the two digits after the prefix.
    let cost = stored.get(4..6).and_then(|c| c.parse::<u32>().ok());
    if cost.is_none_or(|c| c > MAX_STORED_BCRYPT_COST) {
        return Verification::Invalid;
    }
    // Truncating verify on purpose: the reference's bcrypt silently used only the first 72 bytes.
    match bcrypt::verify(password, stored) {
        Ok(true) => Verification::Valid { needs_rehash: true },
        Ok(false) | Err(_) => Verification::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::CustomizedPasswordHasher as _;

    use super::*;

    const PASSWORD: &str = "Correct-Horse-9!";

    /// `bcrypt::hash("Correct-Horse-9!", 12)`, computed once with the bcrypt crate and pasted here.
    const BCRYPT_12: &str = "$2b$12$1FsGYlE6TpSwq2Pjy1Z9HexWGzzJU7YCq4Yl66UrLinL7Uo0gBqTq";

    #[test]
    fn argon2_round_trip() {
        let hasher = PasswordHasher::default();
        let hash = hasher.hash(PASSWORD).expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_eq!(hasher.verify(PASSWORD, &hash), Verification::Valid { needs_rehash: false });
        assert_eq!(hasher.verify("Correct-Horse-9?", &hash), Verification::Invalid);
        assert_eq!(hasher.verify("", &hash), Verification::Invalid);
        assert_ne!(hasher.hash(PASSWORD).expect("hash"), hash, "salts must differ");
    }

    #[test]
    fn argon2_other_params_need_rehash() {
        let hasher = PasswordHasher::default();
        let weak = Params::new(4096, 1, 1, None).expect("params");
        let hash = Argon2::default()
            .hash_password_customized(PASSWORD.as_bytes(), b"somesaltsomesalt", None, None, weak)
            .expect("hash")
            .to_string();
        assert!(hash.contains("m=4096,t=1,p=1"), "{hash}");
        assert_eq!(hasher.verify(PASSWORD, &hash), Verification::Valid { needs_rehash: true });
        assert_eq!(hasher.verify("nope", &hash), Verification::Invalid);
    }

    #[test]
    fn argon2i_needs_rehash() {
        let hasher = PasswordHasher::default();
        let hash = Argon2::default()
            .hash_password_customized(
                PASSWORD.as_bytes(),
                b"somesaltsomesalt",
                Some("argon2i"),
                None,
                Params::new(M_COST, T_COST, P_COST, None).expect("params"),
            )
            .expect("hash")
            .to_string();
        assert!(hash.starts_with("$argon2i$"), "{hash}");
        assert_eq!(hasher.verify(PASSWORD, &hash), Verification::Valid { needs_rehash: true });
    }

    #[test]
    fn argon2_excessive_cost_is_rejected_unverified() {
        let hasher = PasswordHasher::default();
        let hash =
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(hasher.verify(PASSWORD, hash), Verification::Invalid);
    }

    #[test]
    fn bcrypt_hash_made_in_test() {
        let hasher = PasswordHasher::default();
        let hash = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
        assert!(hash.starts_with("$2b$04$"), "{hash}");
        assert_eq!(hasher.verify(PASSWORD, &hash), Verification::Valid { needs_rehash: true });
        assert_eq!(hasher.verify("wrong", &hash), Verification::Invalid);
    }

    #[test]
    fn bcrypt_uses_only_the_first_72_bytes_like_the_reference() {
        let hasher = PasswordHasher::default();
        let long = format!("{}Aa1!", "x".repeat(96));
        let hash = bcrypt::hash(&long[..72], 4).expect("bcrypt");
        assert_eq!(hasher.verify(&long, &hash), Verification::Valid { needs_rehash: true });
        // argon2 has no such limit: the rehash stores a hash of the whole password.
        let rehashed = hasher.hash(&long).expect("hash");
        assert_eq!(hasher.verify(&long, &rehashed), Verification::Valid { needs_rehash: false });
        assert_eq!(hasher.verify(&long[..72], &rehashed), Verification::Invalid);
    }

    #[test]
    fn bcrypt_fixed_literal() {
        let hasher = PasswordHasher::default();
        assert_eq!(hasher.verify(PASSWORD, BCRYPT_12), Verification::Valid { needs_rehash: true });
        assert_eq!(hasher.verify("correct-horse-9!", BCRYPT_12), Verification::Invalid);
    }

    #[test]
    fn bcrypt_2y_and_2a_prefixes() {
        let hasher = PasswordHasher::default();
        let hash = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
        for prefix in ["$2y$", "$2a$"] {
            let variant = format!("{prefix}{}", &hash[4..]);
            assert_eq!(hasher.verify(PASSWORD, &variant), Verification::Valid { needs_rehash: true }, "{variant}");
        }
        // `$2x$` (the buggy-implementation marker) is not accepted.
        assert_eq!(hasher.verify(PASSWORD, &format!("$2x${}", &hash[4..])), Verification::Invalid);
    }

    #[test]
    fn bcrypt_excessive_cost_is_rejected_unverified() {
        let hasher = PasswordHasher::default();
        let hash = format!("$2b$31${}", &BCRYPT_12[7..]);
        assert_eq!(hasher.verify(PASSWORD, &hash), Verification::Invalid);
    }

    #[test]
    fn garbage_stored_hash_is_invalid() {
        let hasher = PasswordHasher::default();
        for stored in [
            "",
            "plain-text-password",
            PASSWORD,
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=abc,t=2,p=1$c29tZXNhbHQ$aGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAA",
            "$2b$",
            "$2b$12$short",
            "$2b$1ä$9tPENnUEsBlU6Qbf5fwnp.JZmrFhW41f/OCfndHmKLYMOfJgKuDea",
            "$2b$12$9tPENnUEsBlU6Qbf5fwnp.JZmrFhW41f/OCfndHmKLYMOfJgKuDeä",
            "$pbkdf2-sha256$29000$abc$def",
        ] {
            assert_eq!(hasher.verify(PASSWORD, stored), Verification::Invalid, "{stored}");
        }
    }

    /// The dummy check costs what a real one does: argon2 with the current parameters writes every block of
    /// its working memory, so a check that skipped the work (or ran with cheaper parameters) leaves blocks
    /// untouched. It never panics, whatever the password.
    #[test]
    fn verify_dummy_does_the_work_of_a_real_verification() {
        let hasher = PasswordHasher::default();
        for password in [PASSWORD, ""] {
            let mut memory = HashMemory::new();
            assert!(memory.blocks.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)), "fresh memory is zeroed");
            hasher.verify_dummy_in(password, &mut memory);
            let untouched = memory.blocks.iter().filter(|b| b.as_ref().iter().all(|w| *w == 0)).count();
            assert_eq!(untouched, 0, "{password:?}: {untouched} of {} blocks never written", memory.blocks.len());
        }
        hasher.verify_dummy(PASSWORD);
    }
}
