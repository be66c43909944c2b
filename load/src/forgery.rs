//! Tokens a script kiddie would try, built from a real one it got by logging in: unsigned
//! (`alg: none`), signed with secrets people forget to change, a real token's payload swapped for
//! another user's under the old signature, an expired one, and plain garbage. The API must refuse
//! every one of them with 401.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Secrets worth a guess.
const GUESSED_SECRETS: [&str; 5] =
    ["secret", "snackdrawer", "changeme", "password", "your-256-bit-secret"];

const GARBAGE: [&str; 6] =
    ["garbage", "a.b.c", "null", "eyJhbGciOiJIUzI1NiJ9..", "Bearer", "....."];

#[derive(Clone, Copy, Debug)]
pub enum Forgery {
    Unsigned,
    GuessedSecret,
    AnotherUsersPayload,
    Expired,
    Garbage,
}

impl Forgery {
    pub const ALL: [Self; 5] = [
        Self::Unsigned,
        Self::GuessedSecret,
        Self::AnotherUsersPayload,
        Self::Expired,
        Self::Garbage,
    ];

    /// A token of this kind, from `real` (a token the service issued) and `victim` (a user id).
    pub fn forge(self, real: &str, victim: u64) -> String {
        let now = seconds_since_epoch();
        let claims = json!({"user": victim.to_string(), "role": "user", "aud": "snackdrawer", "iat": now, "exp": now + 600});
        match self {
            Self::Unsigned => {
                format!("{}.{}.", encode(&json!({"alg": "none", "typ": "JWT"})), encode(&claims))
            }
            Self::GuessedSecret => {
                let secret = GUESSED_SECRETS.choose(&mut rand::rng()).copied().unwrap_or_default();
                let key = EncodingKey::from_secret(secret.as_bytes());
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
                    .unwrap_or_default()
            }
            Self::AnotherUsersPayload => resign_with_old_signature(real, claims),
            Self::Expired => expired(real, now),
            Self::Garbage => {
                GARBAGE.choose(&mut rand::rng()).copied().unwrap_or_default().to_owned()
            }
        }
    }
}

/// `real` itself once it has expired; before that, its payload with `exp` in the past under
/// the old signature.
fn expired(real: &str, now: u64) -> String {
    let Some(mut payload) = payload(real) else {
        return real.to_owned();
    };
    if payload.get("exp").and_then(Value::as_u64).is_some_and(|exp| exp < now) {
        return real.to_owned();
    }
    payload["exp"] = json!(now - 60);
    resign_with_old_signature(real, payload)
}

fn resign_with_old_signature(real: &str, payload: Value) -> String {
    let mut parts = real.splitn(3, '.');
    let (header, _, signature) = (parts.next(), parts.next(), parts.next());
    format!("{}.{}.{}", header.unwrap_or_default(), encode(&payload), signature.unwrap_or_default())
}

fn payload(token: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn seconds_since_epoch() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn real_token(user: &str, exp: u64) -> String {
        let claims = json!({"user": user, "role": "user", "aud": "snackdrawer", "exp": exp});
        let key = EncodingKey::from_secret(b"the-real-secret-the-kiddie-does-not-know");
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
    }

    #[test]
    fn an_unsigned_token_says_alg_none_and_names_the_victim() {
        let token = Forgery::Unsigned.forge(&real_token("1", 0), 42);
        assert!(token.ends_with('.'));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "none");
        assert_eq!(payload(&token).unwrap()["user"], "42");
    }

    #[test]
    fn a_guessed_secret_token_verifies_under_that_secret() {
        let token = Forgery::GuessedSecret.forge(&real_token("1", 0), 42);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&["snackdrawer"]);
        let verified = GUESSED_SECRETS.iter().any(|secret| {
            jsonwebtoken::decode::<Value>(
                &token,
                &DecodingKey::from_secret(secret.as_bytes()),
                &validation,
            )
            .is_ok()
        });
        assert!(verified);
    }

    #[test]
    fn a_swapped_payload_keeps_the_old_header_and_signature() {
        let real = real_token("1", seconds_since_epoch() + 600);
        let token = Forgery::AnotherUsersPayload.forge(&real, 42);
        let (real_parts, forged_parts): (Vec<_>, Vec<_>) =
            (real.split('.').collect(), token.split('.').collect());
        assert_eq!((real_parts[0], real_parts[2]), (forged_parts[0], forged_parts[2]));
        assert_eq!(payload(&token).unwrap()["user"], "42");
    }

    #[test]
    fn an_expired_token_is_the_real_one_once_it_has_expired() {
        let now = seconds_since_epoch();
        let stale = real_token("1", now - 5);
        assert_eq!(expired(&stale, now), stale);
        let fresh = real_token("1", now + 600);
        let backdated = expired(&fresh, now);
        assert!(payload(&backdated).unwrap()["exp"].as_u64().unwrap() < now);
        assert_eq!(payload(&backdated).unwrap()["user"], "1");
    }
}
