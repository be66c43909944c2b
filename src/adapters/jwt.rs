//! Access tokens as HS256 JWTs, with the claims old clients and tokens expect.
//!
//! Claims: `exp`, `iat`, `aud = "snackdrawer"`, `user` (the user id as a string of digits;
//! a JSON number is accepted too), `role = "user"`, and `key`, the account's `UserKey`, which
//! binds the token to the account rather than to an id a reset store may give someone else.
//! Times are checked against the `Clock` port rather than jsonwebtoken's own reading of the
//! system time, so tests can move time.

use crate::domain::{AccessToken, User, UserId, UserKey};
use crate::ports::{AuthError, Clock, TokenService, TokenSubject};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// The audience every token is issued for and must carry.
pub const AUDIENCE: &str = "snackdrawer";
const ROLE: &str = "user";
/// How far in the future a presented token's `nbf` or `iat` may lie, for clocks of replicas
/// that disagree a little; beyond it the token is refused.
pub const CLOCK_SKEW_LEEWAY: Duration = Duration::from_secs(60);

pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
    clock: Arc<dyn Clock>,
}

/// What `issue` writes.
#[derive(Serialize)]
struct IssuedClaims<'a> {
    exp: u64,
    iat: u64,
    aud: &'a str,
    user: String,
    role: &'a str,
    key: &'a str,
}

/// What `verify` insists on; `aud` is checked by jsonwebtoken (a string or a list holding ours),
/// `nbf` and `iat` only when present, and anything else in the token is ignored.
#[derive(Deserialize)]
struct PresentedClaims {
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    user: UserClaim,
    role: String,
    key: String,
}

/// The old service wrote the user id as a string; some clients mint tokens with a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum UserClaim {
    Digits(String),
    Number(i64),
}

impl UserClaim {
    fn user_id(&self) -> Option<UserId> {
        let raw = match self {
            Self::Digits(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().ok()?
            }
            Self::Digits(_) => return None,
            Self::Number(number) => *number,
        };
        UserId::new(raw).ok()
    }
}

impl JwtTokens {
    pub fn new(secret: &[u8], lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.validate_exp = false; // checked in `verify` against the clock port
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
            clock,
        }
    }

    fn unix_now(&self) -> u64 {
        self.clock.now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0)
    }
}

impl TokenService for JwtTokens {
    fn issue(&self, user: &User) -> Result<AccessToken, AuthError> {
        let now = self.unix_now();
        let claims = IssuedClaims {
            exp: now.saturating_add(self.lifetime.as_secs()),
            iat: now,
            aud: AUDIENCE,
            user: user.id.to_string(),
            role: ROLE,
            key: user.key.as_str(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(AccessToken::new)
            .map_err(|error| AuthError::Internal(error.into()))
    }

    fn verify(&self, token: &str) -> Result<TokenSubject, AuthError> {
        let claims =
            jsonwebtoken::decode::<PresentedClaims>(token, &self.decoding, &self.validation)
                .map_err(|_| AuthError::InvalidToken)?
                .claims;
        let now = self.unix_now();
        let latest_start = now.saturating_add(CLOCK_SKEW_LEEWAY.as_secs());
        let starts_too_late =
            [claims.nbf, claims.iat].into_iter().flatten().any(|at| at > latest_start);
        // Valid through the second `exp` names, as jsonwebtoken itself counts without leeway.
        if claims.exp < now || starts_too_late || claims.role != ROLE {
            return Err(AuthError::InvalidToken);
        }
        let user = claims.user.user_id().ok_or(AuthError::InvalidToken)?;
        let key = UserKey::parse(claims.key).map_err(|_| AuthError::InvalidToken)?;
        Ok(TokenSubject { user, key })
    }
}
