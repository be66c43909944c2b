//! `POST /auth/users` and `POST /auth/login`.

use super::ApiError;
use super::extract::JsonBody;
use crate::domain::{Password, Username};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

#[derive(Deserialize)]
pub struct CredentialsBody {
    username: String,
    password: String,
}

impl CredentialsBody {
    /// The username in Unicode NFC, so one name typed with composed or decomposed accents is
    /// one account.
    fn validate(self) -> Result<(Username, Password), ApiError> {
        let username: String = self.username.nfc().collect();
        Ok((Username::parse(username)?, Password::parse(self.password)?))
    }
}

#[derive(Serialize)]
pub struct UserView {
    id: i64,
    username: String,
}

#[derive(Serialize)]
pub struct TokenView {
    token: String,
}

pub async fn register<U: UseCases>(
    State(app): State<Arc<U>>,
    body: JsonBody,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let (username, password) = body.parse::<CredentialsBody>()?.validate()?;
    let user = app.register(username, password).await?;
    let view = UserView { id: user.id.get(), username: user.username.into_string() };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Answers 201, not 200: the old service did, and its clients check for it.
pub async fn log_in<U: UseCases>(
    State(app): State<Arc<U>>,
    body: JsonBody,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let (username, password) = body.parse::<CredentialsBody>()?.validate()?;
    let token = app.log_in(username, password).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token: token.expose().to_owned() })))
}
