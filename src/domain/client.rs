//! Where a request came from, as far as the service can tell, so that limits can tell one
//! client from another without the core knowing how requests arrive.

use std::net::{IpAddr, Ipv6Addr};

/// A client: an IPv4 address, or the /64 an IPv6 address is in (one host usually holds a
/// whole /64, so its addresses are one client); or a caller in the same process, which has no
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAddress {
    Network(IpAddr),
    InProcess,
}

impl ClientAddress {
    /// The client a peer address belongs to; an IPv4 address mapped into IPv6 is that IPv4
    /// address.
    pub fn of(peer: IpAddr) -> Self {
        let network = match peer {
            IpAddr::V4(_) => peer,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() >> 64 << 64)),
            },
        };
        Self::Network(network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(address: &str) -> ClientAddress {
        ClientAddress::of(address.parse().unwrap())
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        assert_eq!(client("2001:db8:1:2:aaaa::1"), client("2001:db8:1:2:bbbb::9"));
        assert_ne!(client("2001:db8:1:2:aaaa::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("::ffff:127.0.0.2"), client("127.0.0.2"));
        assert_ne!(client("127.0.0.2"), client("127.0.0.3"));
    }
}
