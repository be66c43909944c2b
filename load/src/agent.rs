//! What a goose user carries from step to step, in the one slot goose keeps for a user's own
//! data: its connection to the service, whose user agent names the persona, and, once it has
//! signed up, its account's session. The first step of every persona puts it there.

use crate::session::Session;
use crate::transport::Connection;
use goose::prelude::*;

#[derive(Clone)]
pub struct Agent {
    pub connection: Connection,
    pub session: Option<Session>,
}

/// This user's agent; an error before the persona's first step has run.
pub fn agent(user: &mut GooseUser) -> Result<&mut Agent, Box<TransactionError>> {
    let agent = user.get_session_data_mut::<Agent>();
    agent.ok_or_else(|| "this user has no connection: its first step did not run".to_owned().into())
}
