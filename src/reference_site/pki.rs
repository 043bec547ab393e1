//! Test PKI of the reference site: a CA made at start-up and a server certificate for
//! `localhost` and 127.0.0.1, so the site is served over real TLS like a production site.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM texts of the reference site's CA, server certificate and SSM certificate.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    /// The certificate SSM would sign accounting messages with; its key is not kept.
    pub accounting_cert_pem: String,
}

/// Makes a fresh CA and the server and SSM certificates it signs; the SSM certificate's
/// subject is `C=XX, O=Example, CN=accounting_host`.
pub fn generate(accounting_host: &str) -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CountryName, "EU");
    ca_name.push(DnType::OrganizationName, "fedcloud-conformance");
    ca_name.push(DnType::CommonName, "Reference Site Test CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    let mut server_name = DistinguishedName::new();
    server_name.push(DnType::CommonName, "localhost");
    server_params.distinguished_name = server_name;
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer)?;

    let accounting_key = KeyPair::generate()?;
    let mut accounting_params = CertificateParams::new(vec![accounting_host.to_owned()])?;
    let mut accounting_name = DistinguishedName::new();
    accounting_name.push(DnType::CountryName, "XX");
    accounting_name.push(DnType::OrganizationName, "Example");
    accounting_name.push(DnType::CommonName, accounting_host);
    accounting_params.distinguished_name = accounting_name;
    accounting_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let accounting_cert = accounting_params.signed_by(&accounting_key, &issuer)?;

    // Sites send leaf and intermediate; here the CA signs the leaf directly, so the chain the
    // server sends is the leaf alone and builds to the anchor without fetching anything.
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        accounting_cert_pem: accounting_cert.pem(),
    })
}
