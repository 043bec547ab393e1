//! The CA names an https endpoint sends when it requests a client certificate. X.509 clients
//! (robot certificates, VOMS proxies) can choose their certificate by these names, so a request
//! that names no CA, or none of the IGTF CAs, gives them nothing to choose by.

use std::sync::{Arc, Mutex};

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use serde_json::json;
use x509_parser::prelude::{FromDer, X509Name};

use super::join_limited;
use super::tls::profile_handshakes;
use crate::checks::{CheckCtx, Outcome, Problem};
use crate::x509;

/// Client-certificate resolver that offers no certificate and keeps the CA names of the
/// server's certificate request, one recorder per handshake.
#[derive(Debug, Default)]
pub(super) struct CaNameRecorder(Mutex<Option<Vec<Vec<u8>>>>);

impl CaNameRecorder {
    /// Returns the requested CA names in RFC 4514 form, or `None` when no request came.
    pub(super) fn names(&self) -> Option<Vec<String>> {
        let recorded = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        recorded
            .as_ref()
            .map(|names| names.iter().map(|der| name_text(der)).collect())
    }
}

impl ResolvesClientCert for CaNameRecorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let names = root_hint_subjects
            .iter()
            .map(|name| name.to_vec())
            .collect();
        *self.0.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(names);
        None
    }

    // True, so that rustls keeps the handshake transcript a client certificate would need.
    fn has_certs(&self) -> bool {
        true
    }
}

/// Formats a DER distinguished name from the server. The bytes are the server's, so a name
/// that does not parse is shown in hex rather than dropped.
fn name_text(der: &[u8]) -> String {
    match X509Name::from_der(der) {
        Ok((_, name)) => x509::rfc4514(&name),
        Err(_) => format!("unparsable name {}", hex::encode(der)),
    }
}

pub(super) async fn client_ca_names(ctx: CheckCtx) -> Result<Outcome, Problem> {
    let found = profile_handshakes(&ctx).await?;
    let anchors: Vec<String> = match &ctx.profile().tls.trust_anchors {
        Some(dir) => x509::read_trust_store(dir)
            .map(|store| {
                store
                    .certificates
                    .into_iter()
                    .map(|ca| ca.subject)
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut problems = Vec::new();
    let mut listed = Vec::new();
    let mut not_requested = Vec::new();
    let mut records = Vec::new();
    for handshake in &found {
        let authority = handshake.endpoint.authority();
        let place = format!("{authority} ({})", handshake.addr);
        records.push(json!({
            "endpoint": authority,
            "address": handshake.addr.to_string(),
            "requests_client_certificate": handshake.client_ca_names.is_some(),
            "ca_names": handshake.client_ca_names,
        }));
        let Some(names) = &handshake.client_ca_names else {
            not_requested.push(authority);
            continue;
        };
        if names.is_empty() {
            problems.push(format!(
                "{place} requests a client certificate but names no CA, so X.509 clients such as \
                 robot certificates cannot choose one the site accepts; send the IGTF CA names \
                 (nginx: ssl_client_certificate with the IGTF bundle; Apache: \
                 SSLCACertificatePath or SSLCADNRequestPath)"
            ));
            continue;
        }
        let known = names.iter().filter(|name| anchors.contains(name)).count();
        if !anchors.is_empty() && known == 0 {
            problems.push(format!(
                "{place} asks for client certificates issued by {}, none of them among the {} \
                 CAs in tls.trust_anchors; send the IGTF CA names",
                join_limited(names, 3),
                anchors.len()
            ));
            continue;
        }
        listed.push(format!(
            "{authority} asks for client certificates issued by {}",
            join_limited(names, 3)
        ));
    }
    ctx.evidence.add_json(
        "tls-client-ca-names.json",
        &serde_json::Value::Array(records),
    );
    if !problems.is_empty() {
        return Ok(Outcome::fail(join_limited(&problems, 4)));
    }
    if !not_requested.is_empty() {
        listed.push(format!(
            "no client certificate requested by {}",
            join_limited(&not_requested, 4)
        ));
    }
    Ok(Outcome::pass(listed.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of the name `CN=Example CA`.
    const EXAMPLE_NAME: &[u8] = &[
        0x30, 0x15, 0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0a, b'E', b'x',
        b'a', b'm', b'p', b'l', b'e', b' ', b'C', b'A',
    ];

    #[test]
    fn recorder_keeps_requested_names() {
        let recorder = CaNameRecorder::default();
        assert_eq!(recorder.names(), None);

        let offered = recorder.resolve(&[EXAMPLE_NAME, &[0x01, 0x02]], &[]);
        assert!(offered.is_none());
        assert_eq!(
            recorder.names(),
            Some(vec![
                "CN=Example CA".to_owned(),
                "unparsable name 0102".to_owned()
            ])
        );
    }

    #[test]
    fn recorder_keeps_empty_request() {
        let recorder = CaNameRecorder::default();
        recorder.resolve(&[], &[]);
        assert_eq!(recorder.names(), Some(Vec::new()));
    }
}
