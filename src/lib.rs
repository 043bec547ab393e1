//! fedcloud-conformance: validation and conformance checks for sites joining the EGI Federated
//! Cloud as providers.
//!
//! Suites are data (`suites/*.toml`, read by [`manifest`]); each check's `kind` names an
//! implementation in [`checks`]. [`session::run`] loads a site profile ([`profile`]), runs the
//! selected checks with the [`runner`], and writes JUnit, `report.json` and the evidence bundle
//! ([`report`]). The [`reference_site`] is an in-process site for `demo` and fault tests.

pub mod accounting;
pub mod checks;
pub mod cli;
pub mod federation;
pub mod filter;
pub mod glue;
pub mod gocdb;
pub mod http;
pub mod init;
pub mod location;
pub mod manifest;
pub mod openstack;
pub mod openstack_release;
pub mod probe;
pub mod profile;
pub mod reference_site;
pub mod report;
pub mod runner;
pub mod secret;
pub mod session;
pub mod severity;
pub mod validate;
pub mod waiver;
pub mod x509;
