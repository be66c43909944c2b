//! `POST /auth/users` and `POST /auth/login`.

use super::address_limit::Client;
use super::extract::JsonBody;
use super::{ApiError, openapi};
use crate::domain::{Password, Username};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

/// A username and a password, to register or to log in with.
#[derive(Deserialize, ToSchema)]
#[schema(as = Credentials)]
pub struct CredentialsBody {
    #[schema(schema_with = openapi::username)]
    username: String,
    #[schema(schema_with = openapi::password)]
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

/// A registered user.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    #[schema(schema_with = openapi::id)]
    id: i64,
    #[schema(example = "cookiemonster")]
    username: String,
}

/// A token for the routes that need one.
#[derive(Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenView {
    /// A JWT (HS256). Send it as `x-access-token: <token>` or `Authorization: Bearer <token>`.
    token: String,
}

/// Registering does not log in: the client logs in next, with the same body.
#[utoipa::path(
    post,
    path = "/auth/users",
    operation_id = "register",
    tag = "accounts",
    request_body = CredentialsBody,
    responses(
        (status = 201, description = "The user exists.", body = UserView, links(
            ("log_in" = (operation_id = "log_in", request_body = "$request.body",
                description = "Log in with the credentials just registered."))
        )),
        (status = 400, description = "A bad body, or a username or password out of its limits."),
        (status = 422, description = "`username taken`."),
        (status = 429, description = "This client address sent too many register and login requests."),
    )
)]
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
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "log_in",
    tag = "accounts",
    request_body = CredentialsBody,
    responses(
        (status = 201, description = "A token, valid for the configured time.", body = TokenView, links(
            ("create_drawer" = (operation_id = "create_drawer",
                description = "With a token, keep drawers.")),
            ("list_drawers" = (operation_id = "list_drawers",
                description = "With a token, list the caller's drawers.")),
        )),
        (status = 400, description = "A bad body, or a username or password out of its limits."),
        (status = 401, description = "`username or password incorrect`, alike for an unknown user \
            and a wrong password. No `WWW-Authenticate`: this is about a password, not a token."),
        (status = 429, description = "Too many failed logins for this username, or too many \
            register and login requests from this client address."),
    )
)]
pub async fn log_in<U: UseCases>(
    State(app): State<Arc<U>>,
    Client(from): Client,
    body: JsonBody,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let (username, password) = body.parse::<CredentialsBody>()?.validate()?;
    let token = app.log_in(username, password, from).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token: token.expose().to_owned() })))
}
