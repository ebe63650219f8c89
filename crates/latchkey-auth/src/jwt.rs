//! First-party JWTs: HS256 access and refresh tokens.
//!
//! jsonwebtoken's own expiry check reads the wall clock, so it is switched off and `exp`/`iat` are checked
//! here against the `now` the caller passes in.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AuthError;

/// Clock skew tolerated, in seconds, for both `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 5;

/// Which of the two token kinds a JWT is (its `type` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Short-lived bearer token for API requests.
    Access,
    /// Long-lived token that can only be exchanged for a new token pair.
    Refresh,
}

/// Claims of an access token, serialised in the reference's claim order plus `sid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Unique token id.
    pub jti: Uuid,
    /// Always [`TokenType::Access`].
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// The session this token belongs to.
    pub sid: Uuid,
    /// Whether the user was a superuser when the token was issued.
    pub is_superuser: bool,
    /// The user's email when the token was issued.
    pub email: String,
    /// The user's first name when the token was issued.
    pub first_name: String,
}

/// Claims of a refresh token. `jti` is the session's current refresh id, rotated on every refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// The user id.
    pub sub: Uuid,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// The refresh token id; compared with the session's current one to detect reuse.
    pub jti: Uuid,
    /// Always [`TokenType::Refresh`].
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// The session this token belongs to.
    pub sid: Uuid,
}

/// Superset of both claim sets, so one signature check and one parse serve both token types and a token of
/// the other type can be told apart (`WrongType`) from a malformed one (`Invalid`). Unknown claims are
/// ignored, as serde does by default.
#[derive(Deserialize)]
struct AnyClaims {
    sub: Uuid,
    exp: i64,
    iat: i64,
    jti: Uuid,
    #[serde(rename = "type")]
    token_type: TokenType,
    sid: Uuid,
    is_superuser: Option<bool>,
    email: Option<String>,
    first_name: Option<String>,
}

/// The HS256 signing and verification keys, with the validation rules built once.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    header: Header,
    validation: Validation,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys").field("algorithm", &self.header.alg).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys for the shared secret. Checking that the secret is long enough is the configuration's job.
    #[must_use]
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        // Time is an argument: jsonwebtoken would read the system clock, so exp (and iat) are checked by
        // `check_times` instead.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            header: Header::new(Algorithm::HS256),
            validation,
        }
    }

    /// Signs an access token. Claims whose `token_type` is not `Access` give `WrongType`.
    ///
    /// # Errors
    /// `WrongType` as above; `Hash` if signing fails (which means a misconfigured crypto backend).
    pub fn encode_access(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        if claims.token_type != TokenType::Access {
            return Err(AuthError::WrongType);
        }
        self.encode(claims)
    }

    /// Signs a refresh token. Claims whose `token_type` is not `Refresh` give `WrongType`.
    ///
    /// # Errors
    /// `WrongType` as above; `Hash` if signing fails (which means a misconfigured crypto backend).
    pub fn encode_refresh(&self, claims: &RefreshClaims) -> Result<String, AuthError> {
        if claims.token_type != TokenType::Refresh {
            return Err(AuthError::WrongType);
        }
        self.encode(claims)
    }

    /// Verifies an access token at time `now`.
    ///
    /// # Errors
    /// `Invalid` for anything malformed, forged, missing a claim or issued in the future; `WrongType` for an
    /// authentic refresh token; `Expired` once `now > exp + LEEWAY_SECS`.
    pub fn decode_access(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, AuthError> {
        let c = self.decode_any(token, TokenType::Access, now)?;
        match (c.is_superuser, c.email, c.first_name) {
            (Some(is_superuser), Some(email), Some(first_name)) => Ok(AccessClaims {
                sub: c.sub,
                exp: c.exp,
                iat: c.iat,
                jti: c.jti,
                token_type: c.token_type,
                sid: c.sid,
                is_superuser,
                email,
                first_name,
            }),
            _ => Err(AuthError::Invalid),
        }
    }

    /// Verifies a refresh token at time `now`.
    ///
    /// # Errors
    /// As [`TokenKeys::decode_access`], with `WrongType` for an authentic access token.
    pub fn decode_refresh(&self, token: &str, now: DateTime<Utc>) -> Result<RefreshClaims, AuthError> {
        let c = self.decode_any(token, TokenType::Refresh, now)?;
        Ok(RefreshClaims { sub: c.sub, exp: c.exp, iat: c.iat, jti: c.jti, token_type: c.token_type, sid: c.sid })
    }

    /// Start-up check that signing and verification work: encodes and decodes an access token.
    ///
    /// A jsonwebtoken build without exactly one crypto backend compiles and then panics on first use; the
    /// panic is caught here and reported as `AuthError::Hash("jsonwebtoken crypto backend missing ...")`, so
    /// the binary can refuse to start with a clear message. The default panic hook still prints the panic.
    ///
    /// # Errors
    /// `Hash` when signing panics or fails; `Invalid` when the round trip does not give back the claims.
    pub fn self_test(&self, now: DateTime<Utc>) -> Result<(), AuthError> {
        let ts = now.timestamp();
        let claims = AccessClaims {
            sub: Uuid::nil(),
            exp: ts.saturating_add(60),
            iat: ts,
            jti: Uuid::nil(),
            token_type: TokenType::Access,
            sid: Uuid::nil(),
            is_superuser: false,
            email: "self-test@latchkey.invalid".to_owned(),
            first_name: "Self".to_owned(),
        };
        let round_trip = catch_unwind(AssertUnwindSafe(|| {
            let token = self.encode_access(&claims)?;
            self.decode_access(&token, now)
        }));
        match round_trip {
            Ok(Ok(decoded)) if decoded == claims => Ok(()),
            Ok(Ok(_)) => Err(AuthError::Invalid),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(AuthError::Hash(
                "jsonwebtoken crypto backend missing (enable exactly one of rust_crypto/aws_lc_rs)".to_owned(),
            )),
        }
    }

    fn encode<T: Serialize>(&self, claims: &T) -> Result<String, AuthError> {
        jsonwebtoken::encode(&self.header, claims, &self.encoding)
            .map_err(|e| AuthError::Hash(format!("jwt signing failed: {e}")))
    }

    fn decode_any(&self, token: &str, expected: TokenType, now: DateTime<Utc>) -> Result<AnyClaims, AuthError> {
        // Every jsonwebtoken error (bad format, signature, algorithm, missing claim, claim of the wrong
        // type) is an invalid token; its expiry check is off, so it never reports expiry itself.
        let claims = jsonwebtoken::decode::<AnyClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        if claims.token_type != expected {
            return Err(AuthError::WrongType);
        }
        check_times(claims.iat, claims.exp, now)?;
        Ok(claims)
    }
}

/// `iat` more than the leeway in the future is invalid (PyJWT's "not yet valid"); `exp` more than the
/// leeway in the past is expired.
fn check_times(iat: i64, exp: i64, now: DateTime<Utc>) -> Result<(), AuthError> {
    let now = now.timestamp();
    if iat > now.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::Invalid);
    }
    if now > exp.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000, 0).single().expect("valid timestamp")
    }

    fn access(now: DateTime<Utc>) -> AccessClaims {
        AccessClaims {
            sub: Uuid::new_v4(),
            exp: now.timestamp() + 900,
            iat: now.timestamp(),
            jti: Uuid::new_v4(),
            token_type: TokenType::Access,
            sid: Uuid::new_v4(),
            is_superuser: true,
            email: "ada@example.com".to_owned(),
            first_name: "Ada".to_owned(),
        }
    }

    fn refresh(now: DateTime<Utc>) -> RefreshClaims {
        RefreshClaims {
            sub: Uuid::new_v4(),
            exp: now.timestamp() + 7 * 86_400,
            iat: now.timestamp(),
            jti: Uuid::new_v4(),
            token_type: TokenType::Refresh,
            sid: Uuid::new_v4(),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        now() + chrono::Duration::seconds(secs)
    }

    /// Signs arbitrary JSON claims with the test key, for claims the typed structs cannot express.
    fn sign_raw(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET))
            .expect("encode raw")
    }

    #[test]
    fn access_round_trip_and_claim_order() {
        let keys = TokenKeys::new(SECRET);
        let claims = access(now());
        let token = keys.encode_access(&claims).expect("encode");
        assert_eq!(keys.decode_access(&token, now()).expect("decode"), claims);

        let payload = token.split('.').nth(1).expect("payload");
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("utf8");
        let order: Vec<usize> = [
            "\"sub\"",
            "\"exp\"",
            "\"iat\"",
            "\"jti\"",
            "\"type\":\"access\"",
            "\"sid\"",
            "\"is_superuser\"",
            "\"email\"",
            "\"first_name\"",
        ]
        .iter()
        .map(|k| json.find(k).expect(k))
        .collect();
        assert!(order.is_sorted(), "claim order in {json}");
        let header = token.split('.').next().expect("header");
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("utf8");
        assert_eq!(header, r#"{"typ":"JWT","alg":"HS256"}"#);
    }

    #[test]
    fn refresh_round_trip() {
        let keys = TokenKeys::new(SECRET);
        let claims = refresh(now());
        let token = keys.encode_refresh(&claims).expect("encode");
        assert_eq!(keys.decode_refresh(&token, now()).expect("decode"), claims);
    }

    #[test]
    fn encode_rejects_mismatched_token_type() {
        let keys = TokenKeys::new(SECRET);
        let mut a = access(now());
        a.token_type = TokenType::Refresh;
        assert!(matches!(keys.encode_access(&a), Err(AuthError::WrongType)));
        let mut r = refresh(now());
        r.token_type = TokenType::Access;
        assert!(matches!(keys.encode_refresh(&r), Err(AuthError::WrongType)));
    }

    #[test]
    fn expiry_respects_leeway() {
        let keys = TokenKeys::new(SECRET);
        let claims = access(now());
        let token = keys.encode_access(&claims).expect("encode");
        assert!(keys.decode_access(&token, at(900)).is_ok());
        assert!(keys.decode_access(&token, at(900 + LEEWAY_SECS)).is_ok());
        assert!(matches!(keys.decode_access(&token, at(900 + LEEWAY_SECS + 1)), Err(AuthError::Expired)));

        let r = keys.encode_refresh(&refresh(now())).expect("encode");
        assert!(matches!(keys.decode_refresh(&r, at(7 * 86_400 + LEEWAY_SECS + 1)), Err(AuthError::Expired)));
    }

    #[test]
    fn iat_in_future_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let mut claims = access(now());
        claims.iat = now().timestamp() + LEEWAY_SECS + 1;
        let token = keys.encode_access(&claims).expect("encode");
        assert!(matches!(keys.decode_access(&token, now()), Err(AuthError::Invalid)));
        claims.iat = now().timestamp() + LEEWAY_SECS;
        let token = keys.encode_access(&claims).expect("encode");
        assert!(keys.decode_access(&token, now()).is_ok());
    }

    #[test]
    fn wrong_type_both_ways() {
        let keys = TokenKeys::new(SECRET);
        let r = keys.encode_refresh(&refresh(now())).expect("encode");
        assert!(matches!(keys.decode_access(&r, now()), Err(AuthError::WrongType)));
        let a = keys.encode_access(&access(now())).expect("encode");
        assert!(matches!(keys.decode_refresh(&a, now()), Err(AuthError::WrongType)));
    }

    #[test]
    fn missing_sid_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let mut v = serde_json::to_value(access(now())).expect("json");
        v.as_object_mut().expect("object").remove("sid");
        assert!(matches!(keys.decode_access(&sign_raw(&v), now()), Err(AuthError::Invalid)));
        let mut v = serde_json::to_value(refresh(now())).expect("json");
        v.as_object_mut().expect("object").remove("sid");
        assert!(matches!(keys.decode_refresh(&sign_raw(&v), now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn missing_required_claims_are_invalid() {
        let keys = TokenKeys::new(SECRET);
        for claim in ["exp", "iat", "sub", "jti", "type", "email", "first_name", "is_superuser"] {
            let mut v = serde_json::to_value(access(now())).expect("json");
            v.as_object_mut().expect("object").remove(claim);
            assert!(matches!(keys.decode_access(&sign_raw(&v), now()), Err(AuthError::Invalid)), "{claim}");
        }
    }

    #[test]
    fn non_uuid_sub_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let mut v = serde_json::to_value(access(now())).expect("json");
        v["sub"] = json!("42");
        assert!(matches!(keys.decode_access(&sign_raw(&v), now()), Err(AuthError::Invalid)));
        let mut v = serde_json::to_value(refresh(now())).expect("json");
        v["jti"] = json!("not-a-uuid");
        assert!(matches!(keys.decode_refresh(&sign_raw(&v), now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn unknown_type_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let mut v = serde_json::to_value(access(now())).expect("json");
        v["type"] = json!("Access");
        assert!(matches!(keys.decode_access(&sign_raw(&v), now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn other_key_is_invalid() {
        let token = TokenKeys::new(b"another-secret-another-secret-!!").encode_access(&access(now())).expect("encode");
        assert!(matches!(TokenKeys::new(SECRET).decode_access(&token, now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn alg_none_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&access(now())).expect("json"));
        for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
            assert!(matches!(keys.decode_access(&token, now()), Err(AuthError::Invalid)), "{token}");
        }
    }

    #[test]
    fn other_hmac_alg_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS512), &access(now()), &EncodingKey::from_secret(SECRET))
                .expect("encode");
        assert!(matches!(keys.decode_access(&token, now()), Err(AuthError::Invalid)));
    }

    #[test]
    fn garbage_is_invalid() {
        let keys = TokenKeys::new(SECRET);
        let valid = keys.encode_access(&access(now())).expect("encode");
        let mut tampered = valid.clone();
        tampered.pop();
        tampered.push(if valid.ends_with('A') { 'B' } else { 'A' });
        let huge = "a.".repeat(100_000);
        for token in ["", ".", "..", "a.b.c", "ä.ö.ü", "Bearer x", huge.as_str(), tampered.as_str()] {
            assert!(matches!(keys.decode_access(token, now()), Err(AuthError::Invalid)), "{token:.40}");
            assert!(matches!(keys.decode_refresh(token, now()), Err(AuthError::Invalid)), "{token:.40}");
        }
    }

    #[test]
    fn debug_does_not_print_key() {
        let keys = TokenKeys::new(b"super-secret-value");
        let debug = format!("{keys:?}");
        assert!(!debug.contains("super-secret-value"), "{debug}");
        assert!(debug.contains("HS256"), "{debug}");
    }

    #[test]
    fn self_test_passes() {
        TokenKeys::new(SECRET).self_test(now()).expect("self test");
    }
}
