//! The admin API section, which the service that opens the admin API and `snackdrawer faults`,
//! its client on the command line, share: where it listens and the token it requires. The
//! client adds where to reach it, when that is not the listen address, and how to print.

use super::values::Setting;
use crate::chaos::admin::AdminToken;
use crate::chaos::client::FaultsAction;
use clap::Args;

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Admin API")]
pub struct AdminSettings {
    /// Address of the admin API (fault plan and lazy mode at runtime), e.g. 127.0.0.1:9000:
    /// the service opens it there (off when unset; never expose it beyond the machine or pod),
    /// and `snackdrawer faults` calls it there unless --admin-url says otherwise.
    #[arg(long, env = "SNACKDRAWER_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,

    /// Bearer token the admin API requires, at least 32 bytes (`openssl rand -base64 32`);
    /// also what `snackdrawer faults` sends.
    #[arg(long, env = "SNACKDRAWER_ADMIN_TOKEN", hide_env_values = true,
          value_parser = Setting::secret(AdminToken::parse))]
    pub admin_token: Option<AdminToken>,
}

/// `snackdrawer faults …`. The admin settings are global within it, so that they may follow
/// the action (`faults show --admin-token …`) and its help lists them.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(
    mut_arg("admin_listen", |arg| arg.global(true)),
    mut_arg("admin_token", |arg| arg.global(true))
)]
pub struct FaultsCommand {
    #[command(subcommand)]
    pub action: FaultsAction,

    /// The admin API's base URL, e.g. http://127.0.0.1:9000. Default: --admin-listen's
    /// address, when that is set.
    #[arg(long, env = "SNACKDRAWER_ADMIN_URL", global = true)]
    pub admin_url: Option<String>,

    /// Print the service's answer as JSON rather than as text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(flatten)]
    pub admin: AdminSettings,
}

impl FaultsCommand {
    pub fn admin_url(&self) -> Option<String> {
        self.admin_url.clone().or_else(|| {
            let listen = self.admin.admin_listen.as_deref()?.replace("0.0.0.0:", "127.0.0.1:");
            Some(format!("http://{listen}"))
        })
    }
}
