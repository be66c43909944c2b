//! The name of every port method the decorators report and target, written `Port::method`:
//! the `function` label and span name `Observed` gives a call, and what a fault plan names for
//! `Faulty` to hit. Both take the names from here, so a method cannot be measured under one
//! name and targeted under another, and the compiler holds each name to the trait method it
//! spells: renaming or removing a port method stops the build on this list.

/// Declares one constant per port method, spelled from the port and the method themselves,
/// and `ALL`, the list of them.
macro_rules! port_methods {
    ($($constant:ident = $port:ident :: $method:ident;)+) => {
        $(
            #[doc = concat!("`", stringify!($port), "::", stringify!($method), "`")]
            pub const $constant: &str = concat!(stringify!($port), "::", stringify!($method));
        )+

        /// Every name above, each port's methods together, in the order the ports declare them.
        pub const ALL: &[&str] = &[$($constant),+];

        /// Only compiled, never called: each entry must name a method its port has.
        const _: fn() = || {
            $(let _ = <dyn super::$port>::$method;)+
        };
    };
}

port_methods! {
    STORE_HEALTH_PING = StoreHealth::ping;
    USER_REPOSITORY_CREATE = UserRepository::create;
    USER_REPOSITORY_FIND_BY_ID = UserRepository::find_by_id;
    USER_REPOSITORY_FIND_BY_USERNAME = UserRepository::find_by_username;
    SNACK_REPOSITORY_LIST = SnackRepository::list;
    SNACK_REPOSITORY_GET = SnackRepository::get;
    SNACK_REPOSITORY_CREATE = SnackRepository::create;
    DRAWER_REPOSITORY_LIST_BY_OWNER = DrawerRepository::list_by_owner;
    DRAWER_REPOSITORY_CREATE = DrawerRepository::create;
    DRAWER_REPOSITORY_FIND = DrawerRepository::find;
    DRAWER_REPOSITORY_FIND_WITH_CONTENTS = DrawerRepository::find_with_contents;
    DRAWER_REPOSITORY_ADD_SNACK = DrawerRepository::add_snack;
    DRAWER_REPOSITORY_REMOVE_SNACK = DrawerRepository::remove_snack;
    DRAWER_REPOSITORY_DELETE = DrawerRepository::delete;
    PASSWORD_HASHER_HASH = PasswordHasher::hash;
    PASSWORD_HASHER_VERIFY = PasswordHasher::verify;
    TOKEN_SERVICE_ISSUE = TokenService::issue;
    TOKEN_SERVICE_VERIFY = TokenService::verify;
}

#[cfg(test)]
mod tests {
    use super::ALL;

    /// A fault plan lists the ports by taking each port's run of methods (`chaos::plan`).
    #[test]
    fn each_method_is_listed_once_and_each_port_s_methods_together() {
        let mut ports: Vec<&str> = Vec::new();
        for name in ALL {
            let (port, _) = name.split_once("::").expect("Port::method");
            if ports.last() != Some(&port) {
                assert!(!ports.contains(&port), "{port}'s methods are not listed together");
                ports.push(port);
            }
        }
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "a method is listed twice");
    }
}
