//! Distinguished names in the two forms a site admin meets: GOCDB's Host DN in OpenSSL's slash
//! form (`/DC=org/DC=example/CN=host`, most significant first) and a certificate subject, both
//! rendered in RFC 2253 form (`CN=host,DC=example,DC=org`, least significant first) to compare.
//!
//! The comparison is exact after rendering, because SSM authorises a sender only when its Host DN
//! equals the certificate subject string, without case folding.

use x509_parser::prelude::{FromDer, X509Certificate};

/// Converts a slash-form DN to RFC 2253. The value is trimmed first; an error names what is
/// malformed.
pub fn slash_to_rfc2253(dn: &str) -> Result<String, String> {
    let components = slash_components(dn.trim())?;
    let rendered: Vec<String> = components
        .iter()
        .rev()
        .map(|(kind, value)| format!("{}={}", kind.to_ascii_uppercase(), escape(value)))
        .collect();
    Ok(rendered.join(","))
}

/// Splits `/A=x/B=y` into `(A, x), (B, y)`. A `/` that does not start a new `TYPE=` stays in the
/// value, because grid host DNs such as `/CN=host/keystone.example.org` contain one.
pub fn slash_components(dn: &str) -> Result<Vec<(String, String)>, String> {
    let Some(rest) = dn.strip_prefix('/') else {
        return Err(format!(
            "`{dn}` does not start with `/`; GOCDB expects the slash form /C=…/O=…/CN=…"
        ));
    };
    let mut components: Vec<(String, String)> = Vec::new();
    for piece in rest.split('/') {
        match attribute_start(piece) {
            Some((kind, value)) => components.push((kind.to_owned(), value.to_owned())),
            None => match components.last_mut() {
                Some((_, value)) => {
                    value.push('/');
                    value.push_str(piece);
                }
                None => return Err(format!("`{dn}` has no TYPE=value component")),
            },
        }
    }
    Ok(components)
}

/// `TYPE=value` when `piece` starts with an attribute type (letters, digits, `.` or `-`).
fn attribute_start(piece: &str) -> Option<(&str, &str)> {
    let (kind, value) = piece.split_once('=')?;
    let valid = kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    valid.then_some((kind, value))
}

/// Escapes an attribute value as RFC 2253 section 2.4 requires.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (index == 0 && (c == '#' || c == ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads the subject of a DER certificate in RFC 2253 form, with the short attribute names OpenSSL
/// prints (`emailAddress` included, so a Host DN copied from `openssl x509 -subject` matches).
pub fn certificate_subject(der: &[u8]) -> Result<String, String> {
    let (_, certificate) =
        X509Certificate::from_der(der).map_err(|err| format!("invalid certificate: {err}"))?;
    let mut rdns = Vec::new();
    for rdn in certificate.subject().iter() {
        let mut attributes = Vec::new();
        for attribute in rdn.iter() {
            let oid = attribute.attr_type().to_id_string();
            let kind = short_name(&oid).map_or(oid, str::to_owned);
            let value = attribute
                .as_str()
                .map_err(|err| format!("subject attribute {kind} is not a string: {err}"))?;
            attributes.push(format!("{kind}={}", escape(value)));
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_form_reverses_to_rfc2253() {
        assert_eq!(
            slash_to_rfc2253("/DC=org/DC=example/CN=keystone.example.org").unwrap(),
            "CN=keystone.example.org,DC=example,DC=org"
        );
    }

    #[test]
    fn trailing_blank_is_trimmed_before_conversion() {
        assert_eq!(
            slash_to_rfc2253("/DC=org/DC=example/CN=keystone.example.org ").unwrap(),
            "CN=keystone.example.org,DC=example,DC=org"
        );
    }

    #[test]
    fn slash_inside_value_stays_in_value() {
        assert_eq!(
            slash_to_rfc2253("/C=XX/O=Example/CN=host/keystone.example.org").unwrap(),
            "CN=host/keystone.example.org,O=Example,C=XX"
        );
    }

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(
            slash_to_rfc2253("/O=Example, Inc./CN=k.example.org").unwrap(),
            "CN=k.example.org,O=Example\\, Inc."
        );
    }

    #[test]
    fn comma_form_is_rejected() {
        let err = slash_to_rfc2253("CN=k.example.org,O=Example").unwrap_err();
        assert!(err.contains("does not start with `/`"), "{err}");
    }

    #[test]
    fn certificate_subject_matches_converted_host_dn() {
        let mut params = rcgen::CertificateParams::new(vec!["k.example.org".to_owned()]).unwrap();
        // rcgen keeps one value per attribute type, so this subject has no repeated DC.
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CountryName, "XX");
        name.push(rcgen::DnType::OrganizationName, "Example");
        name.push(rcgen::DnType::CommonName, "k.example.org");
        params.distinguished_name = name;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let subject = certificate_subject(cert.der()).unwrap();
        assert_eq!(subject, "CN=k.example.org,O=Example,C=XX");
        assert_eq!(
            slash_to_rfc2253("/C=XX/O=Example/CN=k.example.org ").unwrap(),
            subject
        );
    }
}
