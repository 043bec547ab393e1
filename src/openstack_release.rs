//! OpenStack releases and how to tell them from the APIs a site exposes: the compute API's
//! maximum microversion and the Identity API's v3 minor version.
//!
//! Sources, both read at the snapshot named:
//! - compute: Nova's REST API version history,
//!   `nova/api/openstack/compute/rest_api_version_history.rst` of openstack/nova at commit
//!   00a0304 (2026-08-21), whose headings mark each release's maximum ("2.60 (Maximum in
//!   Queens)"); master was at 2.104 then, in the 2026.2 development cycle.
//! - identity: Keystone's API reference, `api-ref/source/v3/index.rst` of openstack/keystone at
//!   commit 30ef2ff (2026-07-17), "What's New in Version 3.N (Release)". Its
//!   `keystone/version.py` still reports v3.14, so v3.14 means Ussuri or any later release.

use std::fmt;

/// An OpenStack release, ordered by age (Kilo is the oldest in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release(usize);

/// Release names in order, each with the maximum compute microversion it ships. Nova did not
/// bump the maximum in every release, so several releases share one (Ussuri and Victoria both
/// stop at 2.87).
const RELEASES: &[(&str, Microversion)] = &[
    ("Kilo", Microversion(2, 3)),
    ("Liberty", Microversion(2, 12)),
    ("Mitaka", Microversion(2, 25)),
    ("Newton", Microversion(2, 38)),
    ("Ocata", Microversion(2, 42)),
    ("Pike", Microversion(2, 53)),
    ("Queens", Microversion(2, 60)),
    ("Rocky", Microversion(2, 65)),
    ("Stein", Microversion(2, 72)),
    ("Train", Microversion(2, 79)),
    ("Ussuri", Microversion(2, 87)),
    ("Victoria", Microversion(2, 87)),
    ("Wallaby", Microversion(2, 88)),
    ("Xena", Microversion(2, 90)),
    ("Yoga", Microversion(2, 90)),
    ("Zed", Microversion(2, 93)),
    ("2023.1 Antelope", Microversion(2, 95)),
    ("2023.2 Bobcat", Microversion(2, 95)),
    ("2024.1 Caracal", Microversion(2, 96)),
    ("2024.2 Dalmatian", Microversion(2, 96)),
    ("2025.1 Epoxy", Microversion(2, 100)),
    ("2025.2 Flamingo", Microversion(2, 100)),
    ("2026.1 Gazpacho", Microversion(2, 103)),
];

/// Identity API v3 minor versions and the first release that serves each. Keystone's API
/// reference files both v3.9 and v3.10 under Queens.
const IDENTITY_MINORS: &[(u32, &str)] = &[
    (4, "Kilo"),
    (5, "Liberty"),
    (6, "Mitaka"),
    (7, "Newton"),
    (8, "Ocata"),
    (9, "Queens"),
    (10, "Queens"),
    (11, "Rocky"),
    (12, "Stein"),
    (13, "Train"),
    (14, "Ussuri"),
];

impl Release {
    /// Iterates over every known release, oldest first.
    pub fn all() -> impl Iterator<Item = Release> {
        (0..RELEASES.len()).map(Release)
    }

    /// Finds the release named `name` by its code name ("Epoxy") or dated name ("2025.1" or
    /// "2025.1 Epoxy"), ignoring case.
    pub fn from_name(name: &str) -> Option<Release> {
        let wanted = name.trim().to_ascii_lowercase();
        Release::all().find(|release| {
            let full = release.name().to_ascii_lowercase();
            full == wanted || full.split(' ').any(|part| part == wanted)
        })
    }

    /// Returns the full name, with the year-based number for releases from 2023 on.
    pub fn name(self) -> &'static str {
        RELEASES[self.0].0
    }

    /// Returns the maximum compute microversion this release ships.
    pub fn max_microversion(self) -> Microversion {
        RELEASES[self.0].1
    }

    pub fn newest() -> Release {
        Release(RELEASES.len() - 1)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Known release names, for error messages.
pub fn release_names() -> String {
    Release::all()
        .map(Release::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A compute API microversion, `major.minor`; "2.100" is newer than "2.96".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion(pub u32, pub u32);

impl Microversion {
    /// Parses "2.96"; `None` for anything else.
    pub fn parse(text: &str) -> Option<Microversion> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(Microversion(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The release a site runs, as far as its maximum compute microversion shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeRelease {
    /// One of these releases (oldest, newest), which ship exactly this maximum; the two are
    /// equal when only one release does.
    Shipped(Release, Release),
    /// Between two releases' maxima: a development snapshot of `upcoming`.
    Development { upcoming: Release },
    /// Newer than every release in the table.
    NewerThanKnown,
    /// Older than Kilo, the first release with microversions.
    OlderThanKnown,
}

impl ComputeRelease {
    /// Names the release that ships `max` as its maximum compute microversion.
    pub fn from_max(max: Microversion) -> ComputeRelease {
        let shipping: Vec<Release> = Release::all()
            .filter(|release| release.max_microversion() == max)
            .collect();
        if let (Some(first), Some(last)) = (shipping.first(), shipping.last()) {
            return ComputeRelease::Shipped(*first, *last);
        }
        match Release::all().find(|release| release.max_microversion() > max) {
            Some(Release(0)) => ComputeRelease::OlderThanKnown,
            Some(upcoming) => ComputeRelease::Development { upcoming },
            None => ComputeRelease::NewerThanKnown,
        }
    }

    /// Judges the release against the oldest one accepted. A range that straddles `oldest`
    /// (Ussuri or Victoria, when Victoria is the oldest accepted) cannot be decided from the
    /// compute API alone and is accepted.
    pub fn at_least(self, oldest: Release) -> bool {
        match self {
            ComputeRelease::Shipped(_, newest) => newest >= oldest,
            ComputeRelease::Development { upcoming } => upcoming >= oldest,
            ComputeRelease::NewerThanKnown => true,
            ComputeRelease::OlderThanKnown => false,
        }
    }
}

impl fmt::Display for ComputeRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeRelease::Shipped(oldest, newest) if oldest == newest => write!(f, "{oldest}"),
            ComputeRelease::Shipped(oldest, newest) => write!(f, "{oldest} or {newest}"),
            ComputeRelease::Development { upcoming } => {
                write!(f, "a development snapshot of {upcoming}")
            }
            ComputeRelease::NewerThanKnown => {
                write!(f, "newer than {}", Release::newest())
            }
            ComputeRelease::OlderThanKnown => write!(f, "older than Kilo"),
        }
    }
}

/// Returns the oldest release that serves Identity API version `id` ("v3.14"), or `None` for
/// an id older than the table. Minor versions above the newest known count as that one.
pub fn identity_release(id: &str) -> Option<Release> {
    let minor: u32 = id.trim().strip_prefix("v3.")?.parse().ok()?;
    let (_, name) = IDENTITY_MINORS
        .iter()
        .rev()
        .find(|(known, _)| *known <= minor)?;
    Release::from_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str) -> Release {
        Release::from_name(name).unwrap()
    }

    fn from_max(text: &str) -> ComputeRelease {
        ComputeRelease::from_max(Microversion::parse(text).unwrap())
    }

    #[test]
    fn table_is_ordered_by_microversion() {
        for pair in RELEASES.windows(2) {
            assert!(pair[0].1 <= pair[1].1, "{} before {}", pair[0].0, pair[1].0);
        }
    }

    #[test]
    fn microversions_compare_numerically() {
        assert!(Microversion::parse("2.100").unwrap() > Microversion::parse("2.96").unwrap());
        assert_eq!(Microversion::parse("2.1"), Some(Microversion(2, 1)));
        assert_eq!(Microversion::parse(""), None);
        assert_eq!(Microversion::parse("2"), None);
        assert_eq!(Microversion::parse("v2.1"), None);
    }

    #[test]
    fn names_resolve_in_every_form() {
        assert_eq!(release("Epoxy"), release("2025.1 Epoxy"));
        assert_eq!(release("2025.1"), release("epoxy"));
        assert_eq!(release("mitaka").name(), "Mitaka");
        assert_eq!(Release::from_name("Grizzly"), None);
        assert_eq!(Release::from_name("2025"), None);
    }

    #[test]
    fn max_microversion_names_each_release() {
        assert_eq!(from_max("2.3").to_string(), "Kilo");
        assert_eq!(from_max("2.12").to_string(), "Liberty");
        assert_eq!(from_max("2.25").to_string(), "Mitaka");
        assert_eq!(from_max("2.60").to_string(), "Queens");
        assert_eq!(from_max("2.79").to_string(), "Train");
        assert_eq!(from_max("2.88").to_string(), "Wallaby");
        assert_eq!(from_max("2.93").to_string(), "Zed");
        assert_eq!(from_max("2.103").to_string(), "2026.1 Gazpacho");
    }

    #[test]
    fn shared_maximum_names_both_releases() {
        assert_eq!(from_max("2.87").to_string(), "Ussuri or Victoria");
        assert_eq!(
            from_max("2.96").to_string(),
            "2024.1 Caracal or 2024.2 Dalmatian"
        );
    }

    #[test]
    fn maximum_between_releases_is_development() {
        assert_eq!(
            from_max("2.89"),
            ComputeRelease::Development {
                upcoming: release("Xena")
            }
        );
        assert_eq!(from_max("2.104"), ComputeRelease::NewerThanKnown);
        assert_eq!(from_max("2.1"), ComputeRelease::OlderThanKnown);
    }

    #[test]
    fn at_least_compares_with_oldest_accepted() {
        assert!(from_max("2.96").at_least(release("Mitaka")));
        assert!(from_max("2.25").at_least(release("Mitaka")));
        assert!(!from_max("2.12").at_least(release("Mitaka")));
        assert!(!from_max("2.1").at_least(release("Kilo")));
        assert!(from_max("2.104").at_least(release("Gazpacho")));
        // Ussuri and Victoria share 2.87, so the compute API cannot rule Victoria out.
        assert!(from_max("2.87").at_least(release("Victoria")));
        assert!(!from_max("2.87").at_least(release("Wallaby")));
    }

    #[test]
    fn identity_version_gives_oldest_release() {
        assert_eq!(identity_release("v3.14"), Some(release("Ussuri")));
        assert_eq!(identity_release("v3.10"), Some(release("Queens")));
        assert_eq!(identity_release("v3.6"), Some(release("Mitaka")));
        assert_eq!(identity_release("v3.15"), Some(release("Ussuri")));
        assert_eq!(identity_release("v3.0"), None);
        assert_eq!(identity_release("v2.0"), None);
    }
}
