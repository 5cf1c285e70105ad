//! Unit tests of the network policy.

#![allow(clippy::unwrap_used)]

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
            matches!(err, PolicyError::BadAllow { .. }) && text.contains("[network] allow entry"),
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
