//! `POST /auth/users` and `POST /auth/login`.

use super::address_limit::Client;
use super::extract::JsonBody;
use super::{ApiError, openapi};
use crate::domain::{LoginName, Password, Username};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

/// A username and a password, to log in with.
#[derive(Deserialize, ToSchema)]
#[schema(as = Credentials)]
pub struct CredentialsBody {
    #[schema(schema_with = openapi::username)]
    username: String,
    #[schema(schema_with = openapi::password)]
    password: String,
}

impl CredentialsBody {
    /// The username in Unicode NFC, as accounts registered before usernames were folded have
    /// it, and in NFKC, as accounts registered since have it (`LoginName`).
    fn validate(self) -> Result<(LoginName, Password), ApiError> {
        let typed = Username::parse(self.username.nfc().collect::<String>())?;
        // A folded form that is no username (`¯` folds to a space and a combining macron) names
        // no account registered since folding: the name as typed is the only one to look up.
        let folded = Username::parse(typed.as_str().nfkc().collect::<String>())
            .unwrap_or_else(|_| typed.clone());
        Ok((LoginName { typed, folded }, Password::parse(self.password)?))
    }
}

/// A username and a password, to register with.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewCredentials)]
pub struct NewCredentialsBody {
    #[schema(schema_with = openapi::new_username)]
    username: String,
    #[schema(schema_with = openapi::password)]
    password: String,
}

impl NewCredentialsBody {
    /// The username in Unicode NFKC, so composed and decomposed accents, fullwidth and
    /// halfwidth forms, ligatures and other compatibility characters fold onto the name they
    /// look like, which is then taken (decision record 0018).
    fn validate(self) -> Result<(Username, Password), ApiError> {
        let username = Username::parse_new(self.username.nfkc().collect::<String>())?;
        Ok((username, Password::parse(self.password)?))
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
    request_body = NewCredentialsBody,
    responses(
        (status = 201, description = "The user exists.", body = UserView, links(
            ("log_in" = (operation_id = "log_in", request_body = "$request.body",
                description = "Log in with the credentials just registered."))
        )),
        (status = 400, description = "A bad body, or a username or password out of its limits \
            (a new username may not hold invisible characters)."),
        (status = 422, description = "`username taken`, also when the name folds onto a \
            registered one (fullwidth letters, ligatures, …)."),
        (status = 429, description = "This client address sent too many register and login requests."),
    )
)]
pub async fn register<U: UseCases>(
    State(app): State<Arc<U>>,
    body: JsonBody,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let (username, password) = body.parse::<NewCredentialsBody>()?.validate()?;
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
        (status = 429, description = "Too many failed logins for this username from this client \
            address, or from anywhere while this address failed too; or too many register and \
            login requests from this client address."),
    )
)]
pub async fn log_in<U: UseCases>(
    State(app): State<Arc<U>>,
    Client(from): Client,
    body: JsonBody,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let (name, password) = body.parse::<CredentialsBody>()?.validate()?;
    let token = app.log_in(name, password, from).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token: token.expose().to_owned() })))
}
