//! Network policy: which addresses plugboard may connect to.
//!
//! Built from the `[network]` section of the configuration ([`NetworkConfig`]). Every address
//! is first sorted into an [`AddrClass`]; the class decides:
//!
//! | class | audit probes ([`NetworkPolicy::check_probe`]) | downloads, web hooks ([`NetworkPolicy::check_fetch_addr`]) |
//! |---|---|---|
//! | [`AddrClass::Public`] | allowed | allowed |
//! | loopback, private, CGNAT, link-local, ULA, unspecified, documentation, reserved | only inside a `probe_allow` network | only with `allow_private = true` |
//! | [`AddrClass::Metadata`], [`AddrClass::Multicast`], [`AddrClass::Broadcast`] | never | never |
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged exactly as their IPv4 address,
//! including against `probe_allow`. NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses
//! take the class of the IPv4 address they embed, so they cannot smuggle a private or metadata
//! address past the policy; `probe_allow` matches them by their IPv6 form.
//!
//! The policy judges IP addresses only: callers resolve names themselves and check every
//! address they are about to connect to (and again after every redirect).

use ipnet::{IpNet, Ipv4Net};
use plugboard_core::config::NetworkConfig;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, as far as the network policy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrClass {
    /// Globally routable unicast: everything not listed below.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`) and the deprecated IPv6
    /// site-local range `fec0::/10`.
    Private,
    /// Shared address space for carrier-grade NAT, `100.64.0.0/10` (also used inside some
    /// clouds).
    SharedCgnat,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// IPv6 unique local addresses, `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8` ("this network"; `0.0.0.0` reaches the local host) and `::`.
    Unspecified,
    /// Documentation-only ranges: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`,
    /// `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Other special-purpose ranges that are not globally routable: `192.0.0.0/24`,
    /// `192.88.99.0/24`, `198.18.0.0/15`, `240.0.0.0/4`, IPv4-compatible (`::/96`) and
    /// IPv4-translated (`::ffff:0:0:0/96`) IPv6, `64:ff9b:1::/48`, `100::/64`, Teredo
    /// `2001::/32`, `2001:2::/48`, and IPv6 outside `2000::/3` not listed elsewhere.
    Reserved,
    /// Cloud instance metadata services — never reachable, whatever the configuration says:
    /// `169.254.169.254` (AWS, Azure, GCP, Huawei Cloud, OpenStack, Oracle, …),
    /// `169.254.170.2` (AWS ECS), `169.254.170.23` (AWS EKS Pod Identity), `169.254.0.23`
    /// (Tencent Cloud), `100.100.100.200` (Alibaba Cloud), `168.63.129.16` (Azure WireServer),
    /// `192.0.0.192` (Oracle Cloud Classic), `fd00:ec2::254` and `fd00:ec2::23` (AWS),
    /// `fd20:ce::254` (GCP).
    Metadata,
    /// `224.0.0.0/4`, `ff00::/8` — never reachable.
    Multicast,
    /// `255.255.255.255` — never reachable.
    Broadcast,
}

impl AddrClass {
    /// Whether plugboard refuses addresses of this class whatever the configuration says
    /// (metadata, multicast, broadcast).
    pub fn is_never_allowed(self) -> bool {
        matches!(self, Self::Metadata | Self::Multicast | Self::Broadcast)
    }

    /// Whether addresses of this class need explicit permission: `probe_allow` for audit
    /// probes, `allow_private` for downloads and web hooks.
    pub fn is_restricted(self) -> bool {
        !matches!(self, Self::Public) && !self.is_never_allowed()
    }

    /// The class in a sentence: "a loopback address".
    fn with_article(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedCgnat => "a shared (carrier-grade NAT, 100.64.0.0/10) address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique local (fc00::/7) address",
            Self::Unspecified => "an unspecified (\"this host\") address",
            Self::Documentation => "a documentation-only address",
            Self::Reserved => "a reserved special-purpose address",
            Self::Metadata => "a cloud metadata address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
        }
    }
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique local",
            Self::Unspecified => "unspecified",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
            Self::Metadata => "cloud metadata",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
        };
        f.write_str(name)
    }
}

const METADATA_V4: [Ipv4Addr; 7] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(169, 254, 0, 23),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];

const METADATA_V6: [Ipv6Addr; 3] = [
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0023),
    Ipv6Addr::new(0xfd20, 0x00ce, 0, 0, 0, 0, 0, 0x0254),
];

/// IPv4 ranges, first match wins (metadata addresses are checked before).
const V4_RANGES: [([u8; 4], u8, AddrClass); 16] = [
    ([0, 0, 0, 0], 8, AddrClass::Unspecified),
    ([10, 0, 0, 0], 8, AddrClass::Private),
    ([100, 64, 0, 0], 10, AddrClass::SharedCgnat),
    ([127, 0, 0, 0], 8, AddrClass::Loopback),
    ([169, 254, 0, 0], 16, AddrClass::LinkLocal),
    ([172, 16, 0, 0], 12, AddrClass::Private),
    ([192, 0, 0, 0], 24, AddrClass::Reserved),
    ([192, 0, 2, 0], 24, AddrClass::Documentation),
    ([192, 88, 99, 0], 24, AddrClass::Reserved),
    ([192, 168, 0, 0], 16, AddrClass::Private),
    ([198, 18, 0, 0], 15, AddrClass::Reserved),
    ([198, 51, 100, 0], 24, AddrClass::Documentation),
    ([203, 0, 113, 0], 24, AddrClass::Documentation),
    ([224, 0, 0, 0], 4, AddrClass::Multicast),
    ([255, 255, 255, 255], 32, AddrClass::Broadcast),
    ([240, 0, 0, 0], 4, AddrClass::Reserved),
];

/// IPv6 ranges, first match wins (metadata, mapped, NAT64 and 6to4 are handled before);
/// anything unmatched is [`AddrClass::Reserved`].
const fn v6(s: [u16; 8]) -> u128 {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]).to_bits()
}

const V6_RANGES: [(u128, u8, AddrClass); 15] = [
    (0, 128, AddrClass::Unspecified),
    (1, 128, AddrClass::Loopback),
    // ::/96, IPv4-compatible (deprecated)
    (0, 96, AddrClass::Reserved),
    // ::ffff:0:0:0/96, IPv4-translated
    (v6([0, 0, 0, 0, 0xffff, 0, 0, 0]), 96, AddrClass::Reserved),
    // 64:ff9b:1::/48, local-use NAT64
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        AddrClass::Reserved,
    ),
    // 100::/64, discard-only
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, AddrClass::Reserved),
    // 2001::/32, Teredo
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, AddrClass::Reserved),
    // 2001:2::/48, benchmarking
    (v6([0x2001, 2, 0, 0, 0, 0, 0, 0]), 48, AddrClass::Reserved),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        AddrClass::Documentation,
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        AddrClass::Documentation,
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, AddrClass::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, AddrClass::LinkLocal),
    // fec0::/10, site-local (deprecated)
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, AddrClass::Private),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, AddrClass::Multicast),
    // 2000::/3, global unicast
    (v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3, AddrClass::Public),
];

fn v4_in(addr: u32, base: [u8; 4], len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    addr & mask == u32::from_be_bytes(base)
}

fn v6_in(addr: u128, base: u128, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    addr & mask == base
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    if METADATA_V4.contains(&ip) {
        return AddrClass::Metadata;
    }
    let n = u32::from(ip);
    V4_RANGES
        .iter()
        .find(|(base, len, _)| v4_in(n, *base, *len))
        .map_or(AddrClass::Public, |(_, _, class)| *class)
}

/// The IPv4 address a NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address stands for, with
/// the name of the scheme.
fn embedded_v4(ip: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let n = u128::from(ip);
    if v6_in(n, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        // Truncation is the point: the low 32 bits are the IPv4 address.
        return Some(("NAT64", Ipv4Addr::from((n & 0xffff_ffff) as u32)));
    }
    if v6_in(n, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        return Some(("6to4", Ipv4Addr::from(((n >> 80) & 0xffff_ffff) as u32)));
    }
    None
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    if METADATA_V6.contains(&ip) {
        return AddrClass::Metadata;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if let Some((_, v4)) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let n = u128::from(ip);
    V6_RANGES
        .iter()
        .find(|(base, len, _)| v6_in(n, *base, *len))
        .map_or(AddrClass::Reserved, |(_, _, class)| *class)
}

/// Sorts an address into its [`AddrClass`]. IPv4-mapped IPv6 addresses get the class of their
/// IPv4 address; NAT64 and 6to4 addresses the class of the IPv4 address they embed.
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Why plugboard may not connect to an address, or why `[network]` is invalid. The message
/// names the address and the setting that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A metadata, multicast or broadcast address: never allowed.
    Never { ip: IpAddr, class: AddrClass },
    /// A restricted address that no `probe_allow` network contains.
    ProbeNotAllowed { ip: IpAddr, class: AddrClass },
    /// A restricted address while `allow_private` is false.
    FetchNotAllowed { ip: IpAddr, class: AddrClass },
    /// A `probe_allow` entry that is not a network in CIDR notation.
    BadProbeAllow { entry: String, reason: String },
    /// An `allow` entry that is neither a URL prefix nor a host pattern.
    BadAllow { entry: String, reason: String },
}

/// The address as the user wrote it, plus what it stands for when that differs.
struct Shown(IpAddr);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    write!(f, "{v6} (IPv4-mapped {v4})")
                } else if let Some((scheme, v4)) = embedded_v4(v6) {
                    write!(f, "{v6} ({scheme} for {v4})")
                } else {
                    write!(f, "{v6}")
                }
            }
            IpAddr::V4(v4) => write!(f, "{v4}"),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Never { ip, class } => {
                let shown = Shown(*ip);
                let what = class.with_article();
                if *class == AddrClass::Metadata {
                    write!(
                        f,
                        "{shown} is {what}; plugboard never connects to it, whatever [network] says"
                    )
                } else {
                    write!(
                        f,
                        "{shown} is {what}; plugboard connects only to unicast addresses, whatever [network] says"
                    )
                }
            }
            Self::ProbeNotAllowed { ip, class } => {
                let judged = ip.to_canonical();
                let host_len = if judged.is_ipv4() { 32 } else { 128 };
                write!(
                    f,
                    "{} is {}; audit probes may reach it only if [network] probe_allow lists it (e.g. \"{judged}/{host_len}\")",
                    Shown(*ip),
                    class.with_article()
                )
            }
            Self::FetchNotAllowed { ip, class } => write!(
                f,
                "{} is {}; package downloads and web hooks may reach it only if [network] allow_private = true",
                Shown(*ip),
                class.with_article()
            ),
            Self::BadProbeAllow { entry, reason } => write!(
                f,
                "[network] probe_allow entry \"{entry}\" is not valid: {reason}; write a network in CIDR notation such as \"10.0.0.0/8\", \"127.0.0.1/32\" or \"fd00::/8\""
            ),
            Self::BadAllow { entry, reason } => write!(
                f,
                "[network] allow entry \"{entry}\" is not valid: {reason}; write a URL prefix such as \"https://*.obs.example.com/packages/\" or \"http://127.0.0.1:8000/\", or a host pattern such as \"*.obs.example.com\" or \"mirror.example.com:8443\""
            ),
        }
    }
}

/// Parses one `probe_allow` entry: `address/prefix`, or a bare address meaning that one host.
/// Host bits after the prefix are refused (a likely typo). IPv4-mapped IPv6 networks become
/// the IPv4 network they stand for.
fn parse_cidr(entry: &str) -> Result<IpNet, String> {
    let text = entry.trim();
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| format!("\"{addr_text}\" is not an IP address"))?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        None => max,
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= max && l.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("the prefix length \"{l}\" is not a number from 0 to {max}"))?,
    };
    let net = IpNet::new(addr, len)
        .map_err(|_| format!("the prefix length {len} is too long for {addr}"))?;
    if net.trunc() != net {
        return Err(format!(
            "it has address bits set after the /{len} prefix; did you mean \"{}\"?",
            net.trunc()
        ));
    }
    if let IpNet::V6(v6) = net {
        if let (Some(v4), true) = (v6.network().to_ipv4_mapped(), v6.prefix_len() >= 96) {
            let v4net = Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map_err(|_| format!("the prefix length {len} is too long for {addr}"))?;
            return Ok(IpNet::V4(v4net));
        }
    }
    Ok(net)
}

/// Checks one `[network] allow` entry: a URL prefix `http(s)://host[:port][/path]` or a host
/// pattern `host[:port]`, where host is a name, `*.` followed by a domain, an IPv4 address or
/// a bracketed IPv6 address. Anything else would silently match nothing.
fn check_allow_entry(entry: &str) -> Result<(), String> {
    if entry.trim().is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = entry
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '?' | '#' | '\\'))
    {
        return Err(format!("it contains {c:?}"));
    }
    let hostport = match entry.split_once("://") {
        Some((scheme, rest)) => {
            if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
                return Err(format!("the scheme `{scheme}` is not http or https"));
            }
            match rest.find('/') {
                Some(i) => &rest[..i],
                None => rest,
            }
        }
        None if entry.contains('/') => {
            return Err("a URL prefix must start with http:// or https://".into())
        }
        None => entry,
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((v6, tail)) = rest.split_once(']') else {
            return Err("an IPv6 address lacks its closing `]`".into());
        };
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{v6}` is not an IPv6 address"));
        }
        match tail {
            "" => (None, None),
            t => match t.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return Err(format!("`{t}` after the IPv6 address is not a port")),
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(hostport), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return Err(format!("`{p}` is not a port number (1 to 65535)"));
        }
    }
    if let Some(h) = host {
        let name = h.strip_prefix("*.").unwrap_or(h);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() {
            return Err("it names no host".into());
        }
        if name.contains('*') {
            return Err(format!(
                "`{h}`: `*` may only open a pattern, as in `*.example.com`"
            ));
        }
        if !name.split('.').all(label_ok) {
            return Err(format!("`{h}` is not a host name or an IP address"));
        }
    }
    Ok(())
}

/// Where plugboard may connect, built once from `[network]`.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    allow: Vec<String>,
    allow_private: bool,
    max_package_bytes: u64,
    probe_allow: Vec<IpNet>,
    download: DownloadLimits,
}

/// How long and how slowly a package download may run (`[network] download_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadLimits {
    /// The whole download, from the request to the last byte.
    pub timeout: std::time::Duration,
    /// Bytes per second, averaged over each `window`; 0 = no minimum.
    pub min_bytes_per_second: u64,
    pub window: std::time::Duration,
}

impl DownloadLimits {
    fn from_config(cfg: &NetworkConfig) -> Self {
        Self {
            timeout: std::time::Duration::from_secs(cfg.download_timeout_seconds.max(1)),
            min_bytes_per_second: cfg.download_min_bytes_per_second,
            window: std::time::Duration::from_secs(cfg.download_rate_window_seconds.max(1)),
        }
    }
}

impl Default for NetworkPolicy {
    /// The policy of an empty `[network]` section: public addresses only.
    fn default() -> Self {
        let cfg = NetworkConfig::default();
        let download = DownloadLimits::from_config(&cfg);
        Self {
            allow: cfg.allow,
            allow_private: cfg.allow_private,
            max_package_bytes: cfg.max_package_bytes,
            probe_allow: Vec::new(),
            download,
        }
    }
}

impl NetworkPolicy {
    /// Builds the policy; a `probe_allow` entry that is not a CIDR network (or a bare address)
    /// is a [`PolicyError::BadProbeAllow`] naming the entry, a malformed `allow` entry a
    /// [`PolicyError::BadAllow`].
    pub fn from_config(cfg: &NetworkConfig) -> Result<Self, PolicyError> {
        for entry in &cfg.allow {
            check_allow_entry(entry).map_err(|reason| PolicyError::BadAllow {
                entry: entry.clone(),
                reason,
            })?;
        }
        let probe_allow = cfg
            .probe_allow
            .iter()
            .map(|entry| {
                parse_cidr(entry).map_err(|reason| PolicyError::BadProbeAllow {
                    entry: entry.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allow: cfg.allow.clone(),
            allow_private: cfg.allow_private,
            max_package_bytes: cfg.max_package_bytes,
            probe_allow,
            download: DownloadLimits::from_config(cfg),
        })
    }

    /// Audit probes: public addresses are allowed; loopback, private, CGNAT, link-local, ULA,
    /// unspecified, documentation and reserved addresses only inside a `probe_allow` network;
    /// metadata, multicast and broadcast addresses never, even if listed. IPv4-mapped IPv6
    /// addresses are judged as their IPv4 address.
    pub fn check_probe(&self, ip: IpAddr) -> Result<(), PolicyError> {
        let judged = ip.to_canonical();
        match classify(judged) {
            AddrClass::Public => Ok(()),
            class if class.is_never_allowed() => Err(PolicyError::Never { ip, class }),
            class => {
                if self.probe_allow.iter().any(|net| net.contains(&judged)) {
                    Ok(())
                } else {
                    Err(PolicyError::ProbeNotAllowed { ip, class })
                }
            }
        }
    }

    /// Package downloads and web hooks: public addresses are allowed; the restricted classes
    /// only when `allow_private` is true; metadata, multicast and broadcast never.
    pub fn check_fetch_addr(&self, ip: IpAddr) -> Result<(), PolicyError> {
        match classify(ip) {
            AddrClass::Public => Ok(()),
            class if class.is_never_allowed() => Err(PolicyError::Never { ip, class }),
            _ if self.allow_private => Ok(()),
            class => Err(PolicyError::FetchNotAllowed { ip, class }),
        }
    }

    /// `[network] allow`: URL prefixes / host patterns packages may come from, as configured.
    pub fn allow_patterns(&self) -> &[String] {
        &self.allow
    }

    /// `[network] allow_private`.
    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// `[network] max_package_bytes`.
    pub fn max_package_bytes(&self) -> u64 {
        self.max_package_bytes
    }

    /// `[network] download_timeout_seconds`, `download_min_bytes_per_second`,
    /// `download_rate_window_seconds`.
    pub fn download_limits(&self) -> DownloadLimits {
        self.download
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allow_entries_are_checked() {
        for ok in [
            "https://*.obs.example.com/packages/",
            "http://127.0.0.1:8000/",
            "http://127.0.0.1:8000",
            "HTTPS://Mirror.Example.com",
            "http://[::1]:8000/pkgs/",
            "*.obs.example.com",
            "mirror.example.com",
            "mirror.example.com:8443",
            "[fd00::1]:80",
            "10.0.0.5",
        ] {
            check_allow_entry(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            " ",
            "ftp://mirror.example.com/",
            "http//mirror.example.com",
            "mirror.example.com/packages/",
            "http://",
            "http:///x",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:/",
            "mirror.example.com:http",
            "*example.com",
            "*.",
            "a.*.example.com",
            "http://user@mirror.example.com/",
            "http://mirror.example.com/?x=1",
            "mirror example.com",
            "http://[::1/",
            "[zz::1]:80",
        ] {
            let cfg = NetworkConfig {
                allow: vec![bad.to_string()],
                ..NetworkConfig::default()
            };
            let err = NetworkPolicy::from_config(&cfg).expect_err(bad);
            let text = err.to_string();
            assert!(
                matches!(err, PolicyError::BadAllow { .. })
                    && text.contains("[network] allow entry"),
                "{bad}: {text}"
            );
        }
    }

    fn policy(probe_allow: &[&str], allow_private: bool) -> NetworkPolicy {
        let cfg = NetworkConfig {
            probe_allow: probe_allow.iter().map(|s| s.to_string()).collect(),
            allow_private,
            ..NetworkConfig::default()
        };
        NetworkPolicy::from_config(&cfg).unwrap()
    }

    fn bad(entry: &str) -> String {
        let cfg = NetworkConfig {
            probe_allow: vec!["10.0.0.0/8".into(), entry.into()],
            ..NetworkConfig::default()
        };
        let err = NetworkPolicy::from_config(&cfg).unwrap_err();
        match &err {
            PolicyError::BadProbeAllow { entry: e, .. } => assert_eq!(e, entry),
            other => panic!("unexpected {other:?}"),
        }
        err.to_string()
    }

    #[test]
    fn classify_ipv4() {
        use AddrClass::*;
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("1.1.1.1", Public),
            ("8.8.8.8", Public),
            ("9.255.255.255", Public),
            ("10.0.0.0", Private),
            ("10.255.255.255", Private),
            ("11.0.0.0", Public),
            ("100.63.255.255", Public),
            ("100.64.0.0", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
            ("100.100.100.200", Metadata),
            ("100.100.100.201", SharedCgnat),
            ("126.255.255.255", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("128.0.0.0", Public),
            ("168.63.129.16", Metadata),
            ("168.63.129.17", Public),
            ("169.254.0.1", LinkLocal),
            ("169.254.0.23", Metadata),
            ("169.254.169.254", Metadata),
            ("169.254.169.253", LinkLocal),
            ("169.254.170.2", Metadata),
            ("169.254.170.23", Metadata),
            ("169.255.0.0", Public),
            ("172.15.255.255", Public),
            ("172.16.0.0", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
            ("192.0.0.1", Reserved),
            ("192.0.0.192", Metadata),
            ("192.0.1.1", Public),
            ("192.0.2.1", Documentation),
            ("192.88.99.1", Reserved),
            ("192.167.255.255", Public),
            ("192.168.0.1", Private),
            ("192.168.255.255", Private),
            ("192.169.0.0", Public),
            ("198.17.255.255", Public),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("198.20.0.0", Public),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("223.255.255.255", Public),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
        ];
        for (addr, class) in cases {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn classify_ipv6() {
        use AddrClass::*;
        let cases = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("::2", Reserved),
            ("::7f00:1", Reserved), // IPv4-compatible ::127.0.0.1
            ("::ffff:0:7f00:1", Reserved),
            ("2606:4700:4700::1111", Public),
            ("2001:4860:4860::8888", Public),
            ("2400:cb00::1", Public),
            ("3ffe::1", Public),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001::1", Reserved),
            ("2001:2::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Reserved),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fdff:ffff::1", UniqueLocal),
            ("fd00:ec2::254", Metadata),
            ("fd00:ec2::23", Metadata),
            ("fd00:ec2::253", UniqueLocal),
            ("fd20:ce::254", Metadata),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("4000::1", Reserved),
            ("1000::1", Reserved),
            ("e000::1", Reserved),
        ];
        for (addr, class) in cases {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn classify_embedded_ipv4() {
        use AddrClass::*;
        let cases = [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:8.8.8.8", Public),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:100.100.100.200", Metadata),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:255.255.255.255", Broadcast),
            ("::ffff:224.0.0.1", Multicast),
            ("64:ff9b::8.8.8.8", Public),
            ("64:ff9b::10.0.0.5", Private),
            ("64:ff9b::169.254.169.254", Metadata),
            ("64:ff9b::127.0.0.1", Loopback),
            ("2002:0808:0808::1", Public),
            ("2002:7f00:0001::1", Loopback),
            ("2002:a9fe:a9fe::1", Metadata),
            ("2002:c0a8:0101::1", Private),
        ];
        for (addr, class) in cases {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn class_helpers() {
        assert!(AddrClass::Metadata.is_never_allowed());
        assert!(AddrClass::Multicast.is_never_allowed());
        assert!(AddrClass::Broadcast.is_never_allowed());
        assert!(!AddrClass::Public.is_never_allowed());
        assert!(!AddrClass::Public.is_restricted());
        assert!(!AddrClass::Metadata.is_restricted());
        for c in [
            AddrClass::Loopback,
            AddrClass::Private,
            AddrClass::SharedCgnat,
            AddrClass::LinkLocal,
            AddrClass::UniqueLocal,
            AddrClass::Unspecified,
            AddrClass::Documentation,
            AddrClass::Reserved,
        ] {
            assert!(c.is_restricted(), "{c}");
            assert!(!c.is_never_allowed(), "{c}");
        }
        assert_eq!(AddrClass::SharedCgnat.to_string(), "shared (CGNAT)");
    }

    #[test]
    fn default_policy_probes_public_only() {
        let p = NetworkPolicy::default();
        assert!(p.check_probe(ip("8.8.8.8")).is_ok());
        assert!(p.check_probe(ip("2606:4700:4700::1111")).is_ok());
        for a in [
            "127.0.0.1",
            "10.0.0.5",
            "172.16.1.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "::",
            "::1",
            "fd00::1",
            "fe80::1",
            "192.0.2.1",
            "240.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                matches!(
                    p.check_probe(ip(a)),
                    Err(PolicyError::ProbeNotAllowed { .. })
                ),
                "{a}"
            );
        }
        for a in [
            "169.254.169.254",
            "100.100.100.200",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
        ] {
            assert!(
                matches!(p.check_probe(ip(a)), Err(PolicyError::Never { .. })),
                "{a}"
            );
        }
    }

    #[test]
    fn probe_allow_lists_networks() {
        let p = policy(
            &[
                "127.0.0.1/32",
                "10.0.0.0/8",
                "fd00::/8",
                "100.64.0.0/10",
                "169.254.0.0/16",
            ],
            false,
        );
        assert!(p.check_probe(ip("127.0.0.1")).is_ok());
        assert!(p.check_probe(ip("127.0.0.2")).is_err());
        assert!(p.check_probe(ip("10.200.3.4")).is_ok());
        assert!(p.check_probe(ip("11.0.0.1")).is_ok()); // public anyway
        assert!(p.check_probe(ip("192.168.0.1")).is_err());
        assert!(p.check_probe(ip("fd12::1")).is_ok());
        assert!(p.check_probe(ip("fc00::1")).is_err());
        assert!(p.check_probe(ip("100.64.1.1")).is_ok());
        assert!(p.check_probe(ip("169.254.1.1")).is_ok());
        // Listed networks never open metadata addresses.
        assert!(matches!(
            p.check_probe(ip("100.100.100.200")),
            Err(PolicyError::Never {
                class: AddrClass::Metadata,
                ..
            })
        ));
        assert!(matches!(
            p.check_probe(ip("169.254.169.254")),
            Err(PolicyError::Never { .. })
        ));
        assert!(matches!(
            p.check_probe(ip("fd00:ec2::254")),
            Err(PolicyError::Never { .. })
        ));
        // probe_allow does not touch downloads.
        assert!(p.check_fetch_addr(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn everything_listed_still_refuses_never_classes() {
        let p = policy(&["0.0.0.0/0", "::/0"], true);
        assert!(p.check_probe(ip("10.0.0.1")).is_ok());
        assert!(p.check_probe(ip("::1")).is_ok());
        assert!(p.check_probe(ip("0.0.0.0")).is_ok());
        for a in [
            "169.254.169.254",
            "169.254.170.2",
            "168.63.129.16",
            "fd20:ce::254",
            "239.1.1.1",
            "255.255.255.255",
            "ff05::2",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(
                matches!(p.check_probe(ip(a)), Err(PolicyError::Never { .. })),
                "{a}"
            );
            assert!(
                matches!(p.check_fetch_addr(ip(a)), Err(PolicyError::Never { .. })),
                "{a}"
            );
        }
    }

    #[test]
    fn mapped_addresses_match_ipv4_networks() {
        let p = policy(&["127.0.0.1/32"], false);
        assert!(p.check_probe(ip("::ffff:127.0.0.1")).is_ok());
        assert!(p.check_probe(ip("::ffff:127.0.0.2")).is_err());
        // A mapped network in the config is the same as the IPv4 network.
        let p = policy(&["::ffff:10.0.0.0/104"], false);
        assert!(p.check_probe(ip("10.1.1.1")).is_ok());
        assert!(p.check_probe(ip("::ffff:10.1.1.1")).is_ok());
        assert!(p.check_probe(ip("11.1.1.1")).is_ok());
        assert!(p.check_probe(ip("192.168.1.1")).is_err());
        // IPv4 networks do not open IPv6 ranges and vice versa.
        let p = policy(&["0.0.0.0/0"], false);
        assert!(p.check_probe(ip("::1")).is_err());
        assert!(p.check_probe(ip("fd00::1")).is_err());
        let p = policy(&["::/0"], false);
        assert!(p.check_probe(ip("127.0.0.1")).is_err());
        assert!(p.check_probe(ip("::1")).is_ok());
    }

    #[test]
    fn nat64_and_6to4_match_their_ipv6_form() {
        let p = policy(&["10.0.0.0/8"], false);
        assert!(p.check_probe(ip("64:ff9b::10.0.0.5")).is_err());
        assert!(p.check_probe(ip("64:ff9b::8.8.8.8")).is_ok());
        let p = policy(&["64:ff9b::a00:0/120"], false);
        assert!(p.check_probe(ip("64:ff9b::10.0.0.5")).is_ok());
    }

    #[test]
    fn fetch_follows_allow_private() {
        let closed = policy(&[], false);
        let open = policy(&[], true);
        for a in [
            "127.0.0.1",
            "10.0.0.1",
            "172.20.0.1",
            "192.168.9.9",
            "100.64.0.1",
            "169.254.10.10",
            "0.0.0.0",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "::ffff:10.0.0.1",
            "198.18.0.1",
        ] {
            assert!(
                matches!(
                    closed.check_fetch_addr(ip(a)),
                    Err(PolicyError::FetchNotAllowed { .. })
                ),
                "{a}"
            );
            assert!(open.check_fetch_addr(ip(a)).is_ok(), "{a}");
        }
        for a in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(closed.check_fetch_addr(ip(a)).is_ok(), "{a}");
        }
        for a in [
            "169.254.169.254",
            "100.100.100.200",
            "fd00:ec2::254",
            "224.0.0.251",
        ] {
            assert!(
                matches!(open.check_fetch_addr(ip(a)), Err(PolicyError::Never { .. })),
                "{a}"
            );
        }
    }

    #[test]
    fn messages_name_address_and_setting() {
        let p = NetworkPolicy::default();
        assert_eq!(
            p.check_probe(ip("127.0.0.1")).unwrap_err().to_string(),
            "127.0.0.1 is a loopback address; audit probes may reach it only if [network] probe_allow lists it (e.g. \"127.0.0.1/32\")"
        );
        assert_eq!(
            p.check_probe(ip("::ffff:10.0.0.5")).unwrap_err().to_string(),
            "::ffff:10.0.0.5 (IPv4-mapped 10.0.0.5) is a private address; audit probes may reach it only if [network] probe_allow lists it (e.g. \"10.0.0.5/32\")"
        );
        assert_eq!(
            p.check_probe(ip("fd00::5")).unwrap_err().to_string(),
            "fd00::5 is a unique local (fc00::/7) address; audit probes may reach it only if [network] probe_allow lists it (e.g. \"fd00::5/128\")"
        );
        assert_eq!(
            p.check_probe(ip("169.254.169.254")).unwrap_err().to_string(),
            "169.254.169.254 is a cloud metadata address; plugboard never connects to it, whatever [network] says"
        );
        assert_eq!(
            p.check_probe(ip("64:ff9b::a9fe:a9fe")).unwrap_err().to_string(),
            "64:ff9b::a9fe:a9fe (NAT64 for 169.254.169.254) is a cloud metadata address; plugboard never connects to it, whatever [network] says"
        );
        assert_eq!(
            p.check_probe(ip("224.0.0.1")).unwrap_err().to_string(),
            "224.0.0.1 is a multicast address; plugboard connects only to unicast addresses, whatever [network] says"
        );
        assert_eq!(
            p.check_fetch_addr(ip("192.168.1.10")).unwrap_err().to_string(),
            "192.168.1.10 is a private address; package downloads and web hooks may reach it only if [network] allow_private = true"
        );
    }

    #[test]
    fn cidr_parsing() {
        let p = policy(
            &[
                " 192.168.1.0/24 ",
                "10.1.2.3",
                "fd00::/8",
                "2001:db8::1",
                "0.0.0.0/0",
            ],
            false,
        );
        assert_eq!(p.probe_allow.len(), 5);
        assert!(p.check_probe(ip("192.168.1.77")).is_ok());
        assert!(p.check_probe(ip("192.168.2.1")).is_ok()); // 0.0.0.0/0
        let p = policy(&["10.1.2.3", "2001:db8::1"], false);
        assert!(p.check_probe(ip("10.1.2.3")).is_ok());
        assert!(p.check_probe(ip("10.1.2.4")).is_err());
        assert!(p.check_probe(ip("2001:db8::1")).is_ok());
        assert!(p.check_probe(ip("2001:db8::2")).is_err());
        assert!(policy(&[], false).probe_allow.is_empty());
    }

    #[test]
    fn cidr_errors_name_the_entry() {
        let m = bad("10.0.0.0/33");
        assert!(m.contains("\"10.0.0.0/33\""), "{m}");
        assert!(m.contains("not a number from 0 to 32"), "{m}");
        assert!(bad("fd00::/129").contains("from 0 to 128"));
        assert!(bad("10.0.0.0/").contains("prefix length \"\""));
        assert!(bad("10.0.0.0/+8").contains("prefix length \"+8\""));
        assert!(bad("10.0.0.0/-1").contains("prefix length"));
        assert!(bad("10.0.0.0/8/8").contains("prefix length"));
        assert!(bad("10.0.0/8").contains("\"10.0.0\" is not an IP address"));
        assert!(bad("db.example.com").contains("is not an IP address"));
        assert!(bad("").contains("it is empty"));
        assert!(bad("   ").contains("it is empty"));
        let m = bad("10.1.2.3/8");
        assert!(m.contains("did you mean \"10.0.0.0/8\"?"), "{m}");
        assert!(bad("fd00::1/8").contains("did you mean \"fd00::/8\"?"));
        assert_eq!(
            bad("300.1.1.1/32"),
            "[network] probe_allow entry \"300.1.1.1/32\" is not valid: \"300.1.1.1\" is not an IP address; write a network in CIDR notation such as \"10.0.0.0/8\", \"127.0.0.1/32\" or \"fd00::/8\""
        );
    }

    #[test]
    fn accessors_reflect_config() {
        let cfg = NetworkConfig {
            allow: vec!["https://*.obs.example.com/".into()],
            allow_private: true,
            max_package_bytes: 1234,
            probe_allow: vec![],
            download_timeout_seconds: 7,
            download_min_bytes_per_second: 0,
            download_rate_window_seconds: 0,
        };
        let p = NetworkPolicy::from_config(&cfg).unwrap();
        assert_eq!(
            p.download_limits(),
            DownloadLimits {
                timeout: std::time::Duration::from_secs(7),
                min_bytes_per_second: 0,
                window: std::time::Duration::from_secs(1),
            }
        );
        assert_eq!(
            p.allow_patterns(),
            ["https://*.obs.example.com/".to_string()]
        );
        assert!(p.allow_private());
        assert_eq!(p.max_package_bytes(), 1234);
    }
}
