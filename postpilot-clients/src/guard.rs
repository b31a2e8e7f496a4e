//! The SSRF guard where connections are made: a resolver for reqwest that hands the connector
//! only addresses core's [`AddressPolicy`] allows, refusing a name outright when any address it
//! resolves to is refused (a name answering one public and one internal address is an attack
//! or a misconfiguration, never a receiver or a media host). A name is checked as it is
//! resolved for the connection, so pointing it elsewhere after an earlier check gains nothing.

use std::net::SocketAddr;

use postpilot_core::event::address::AddressPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// See the module.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GuardedResolver(pub(crate) AddressPolicy);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some(refused) = found.iter().find_map(|a| policy.refusal(a.ip())) {
                return Err(format!("{host} resolves to {refused}").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The guard's refusal inside a failed request's chain of causes, if that is why it failed:
/// its message names the host and the kind of address, never the address.
pub(crate) fn refusal_in(error: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if text.contains(" resolves to ") || text.ends_with(" has no address") {
            return Some(text);
        }
        cause = inner.source();
    }
    None
}
