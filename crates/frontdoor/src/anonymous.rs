//! How many request bodies without credentials may be arriving at once, per client address and
//! in total (`[http] max_unauthenticated_bodies_per_address`, `max_unauthenticated_bodies`):
//! the slots anyone can hold without an account (a login, the ZStack RPC endpoint) are bounded,
//! so one address trickling bodies cannot take the connections everyone else needs. A request
//! over either limit is refused at once with 429 `APIG.0308` (the gateway's throttling answer).

use plugboard_api::common::error::GatewayError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The counts of unauthenticated bodies in progress.
#[derive(Debug)]
pub(super) struct AnonymousBodies {
    per_address: usize,
    total: usize,
    state: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One unauthenticated body in progress; dropped when it has arrived (or the connection ends).
#[derive(Debug)]
pub(super) struct AnonymousPermit {
    of: Arc<AnonymousBodies>,
    address: IpAddr,
}

/// The address a client is counted under: an IPv6 client by its /64 (one host typically has a
/// whole /64 to pick addresses from), an IPv4 client (or IPv4-mapped IPv6) by its address.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl AnonymousBodies {
    pub(super) fn new(per_address: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            per_address: per_address.max(1),
            total: total.max(1),
            state: Mutex::new(Counts::default()),
        })
    }

    /// A permit for a body from `peer`, or the 429 naming the limit reached.
    pub(super) fn acquire(self: &Arc<Self>, peer: IpAddr) -> Result<AnonymousPermit, GatewayError> {
        let address = client_key(peer);
        let mut counts = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = counts.by_address.get(&address).copied().unwrap_or(0);
        if mine >= self.per_address {
            return Err(GatewayError::Throttled(format!(
                "{mine} request bodies without credentials are already arriving from this address ([http] max_unauthenticated_bodies_per_address = {})",
                self.per_address
            )));
        }
        if counts.total >= self.total {
            return Err(GatewayError::Throttled(format!(
                "{} request bodies without credentials are already arriving ([http] max_unauthenticated_bodies = {})",
                counts.total, self.total
            )));
        }
        counts.total += 1;
        *counts.by_address.entry(address).or_default() += 1;
        Ok(AnonymousPermit {
            of: self.clone(),
            address,
        })
    }

    #[cfg(test)]
    pub(super) fn in_progress(&self) -> usize {
        self.state.lock().map(|c| c.total).unwrap_or(0)
    }
}

impl Drop for AnonymousPermit {
    fn drop(&mut self) {
        let mut counts = self
            .of
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}
