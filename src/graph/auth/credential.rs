//! Credentials a run signs in with: a client secret (from `AZURE_CLIENT_SECRET` or a file, never
//! a command-line value), a certificate whose private key signs a client assertion (PEM holding
//! the PKCS#8 or PKCS#1 RSA key and the X.509 certificate; PS256 with `x5t#S256`, per
//! <https://learn.microsoft.com/entra/identity-platform/certificate-credentials>), or the
//! delegated device code flow. `--certificate` also takes a PFX / PKCS#12 file (told apart from
//! PEM by its content, not its name; modern AES-256 and legacy RC2/3DES encryption, as Windows and
//! OpenSSL export them) whose password comes from `AZURE_CLIENT_CERTIFICATE_PASSWORD` only, as
//! azure-identity names it: never a flag, where it would show in the process list. PFX reading is
//! the default cargo feature `pfx`; without it PFX files are refused with the conversion command.
//! Nothing here prints a secret: `Secret` and the credential types redact themselves in `Debug`
//! and `Display`, and no error repeats the password.

use std::fmt;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::Rng as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::AuthError;

/// The environment variable a client secret is read from (azure-identity's name).
pub(crate) const CLIENT_SECRET_ENV: &str = "AZURE_CLIENT_SECRET";

/// The environment variable a PFX password is read from (azure-identity's name).
pub(crate) const CERTIFICATE_PASSWORD_ENV: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";

/// How long a client assertion is valid (the docs: "5-10 minutes after `nbf` at most").
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// A secret value (client secret, client assertion, refresh token). `Debug` and `Display`
/// print `<redacted>`; [`Secret::expose`] is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The client secret: the content of `path` (trimmed) when given (`--client-secret-file`),
/// otherwise `AZURE_CLIENT_SECRET`. Empty values are refused.
pub(crate) fn client_secret_from_env_or_file(path: Option<&Path>) -> Result<Secret, AuthError> {
    client_secret_from(path, std::env::var(CLIENT_SECRET_ENV).ok())
}

fn client_secret_from(path: Option<&Path>, env: Option<String>) -> Result<Secret, AuthError> {
    let (value, source) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                AuthError::credential(format!(
                    "cannot read the client secret file {}: {e}",
                    path.display()
                ))
            })?;
            (text, format!("the client secret file {}", path.display()))
        }
        None => (
            env.ok_or_else(|| {
                AuthError::credential(format!(
                    "no client secret: set {CLIENT_SECRET_ENV} or pass --client-secret-file"
                ))
            })?,
            CLIENT_SECRET_ENV.to_owned(),
        ),
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AuthError::credential(format!("{source} is empty")));
    }
    Ok(Secret::new(trimmed))
}

/// A certificate credential: the RSA private key that signs client assertions and the
/// SHA-256 thumbprint of the certificate registered on the application.
pub(crate) struct CertificateCredential {
    key: EncodingKey,
    thumbprint_s256: String,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("key", &"<redacted>")
            .field("x5t#S256", &self.thumbprint_s256)
            .finish()
    }
}

/// The claims of a client assertion.
#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// One `-----BEGIN {label}-----` block of a PEM text, markers included, and its label.
fn pem_blocks(pem: &str) -> Vec<(&str, &str)> {
    const BEGIN: &str = "-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let stop = start + end + end_marker.len();
        blocks.push((label, &rest[start..stop]));
        rest = &rest[stop..];
    }
    blocks
}

impl CertificateCredential {
    /// Reads a PEM text holding an unencrypted RSA private key (`PRIVATE KEY` or
    /// `RSA PRIVATE KEY`) and the certificate (the first `CERTIFICATE` block is the one
    /// registered on the application).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, AuthError> {
        let blocks = pem_blocks(pem);
        if blocks.iter().any(|(l, _)| *l == "ENCRYPTED PRIVATE KEY") {
            return Err(AuthError::credential(
                "the certificate PEM holds an encrypted private key; decrypt it first (openssl pkcs8 -in key.pem -nocrypt)",
            ));
        }
        let (_, key_block) = blocks
            .iter()
            .find(|(l, _)| matches!(*l, "PRIVATE KEY" | "RSA PRIVATE KEY"))
            .ok_or_else(|| {
                AuthError::credential("the certificate PEM has no PRIVATE KEY block (PFX files must be converted: openssl pkcs12 -nodes)")
            })?;
        let (_, cert_block) = blocks
            .iter()
            .find(|(l, _)| *l == "CERTIFICATE")
            .ok_or_else(|| AuthError::credential("the certificate PEM has no CERTIFICATE block"))?;
        let key = EncodingKey::from_rsa_pem(key_block.as_bytes()).map_err(|e| {
            AuthError::credential(format!("the private key is not a usable RSA key: {e}"))
        })?;
        let body: String = cert_block
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD.decode(body).map_err(|e| {
            AuthError::credential(format!("the CERTIFICATE block is not valid base64: {e}"))
        })?;
        Ok(Self {
            key,
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        })
    }

    /// The `--certificate` file: PEM (key and certificate) or PFX, told apart by content; a
    /// PFX password comes from `AZURE_CLIENT_CERTIFICATE_PASSWORD`.
    pub(crate) fn from_file(path: &Path) -> Result<Self, AuthError> {
        let password = std::env::var(CERTIFICATE_PASSWORD_ENV)
            .ok()
            .map(Secret::new);
        Self::from_file_with_password(path, password.as_ref())
    }

    /// As [`CertificateCredential::from_file`], with the PFX password given (`None`: no
    /// password; PEM files ignore it).
    pub(crate) fn from_file_with_password(
        path: &Path,
        password: Option<&Secret>,
    ) -> Result<Self, AuthError> {
        let bytes = std::fs::read(path).map_err(|e| {
            AuthError::credential(format!(
                "cannot read the certificate {}: {e}",
                path.display()
            ))
        })?;
        let in_file = |e: AuthError| {
            AuthError::credential(format!("certificate {}: {}", path.display(), e.message()))
        };
        match CertificateFormat::detect(&bytes) {
            CertificateFormat::Pem(text) => Self::from_pem(text).map_err(in_file),
            CertificateFormat::Pfx(der) => Self::from_pfx(&der, password).map_err(in_file),
            CertificateFormat::Unknown => Err(in_file(AuthError::credential(
                "is neither PEM nor PFX: expected -----BEGIN ...----- blocks (key and certificate) or a PFX/PKCS#12 file (DER or base64)",
            ))),
        }
    }

    /// Reads a PFX / PKCS#12 file: its first private key with the certificate that belongs to it
    /// (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials> registers
    /// that certificate on the application).
    #[cfg(feature = "pfx")]
    pub(crate) fn from_pfx(der: &[u8], password: Option<&Secret>) -> Result<Self, AuthError> {
        use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
        /// rsaEncryption (RFC 8017 A.1): PS256 needs an RSA key.
        const RSA_OID: &str = "1.2.840.113549.1.1.1";
        let pwd = password.map_or("", Secret::expose);
        // Relaxed: a key whose certificate is not linked by localKeyId is still found (and then
        // refused below with that reason, instead of "no private key").
        let store = KeyStore::from_pkcs12(der, pwd, Pkcs12ImportPolicy::Relaxed).map_err(|e| {
            // Only the error's kind is shown: no variant carries the password.
            match e {
                p12_keystore::error::Error::MacError(_) if password.is_none() => AuthError::credential(format!(
                    "the PFX is password-protected: set {CERTIFICATE_PASSWORD_ENV}"
                )),
                p12_keystore::error::Error::MacError(_) => AuthError::credential(format!(
                    "wrong PFX password (from {CERTIFICATE_PASSWORD_ENV}): the file's integrity check failed"
                )),
                other => AuthError::credential(format!("not a readable PFX/PKCS#12 file: {other}")),
            }
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            AuthError::credential(
                "the PFX has no private key: export it with the private key (Export-PfxCertificate, or openssl pkcs12 -export -inkey KEY)",
            )
        })?;
        let oid = chain.key().oid().to_string();
        if oid != RSA_OID {
            return Err(AuthError::credential(format!(
                "the PFX's private key is not RSA (algorithm {oid}): client assertions are signed with PS256, which needs an RSA key"
            )));
        }
        let cert = chain.certs().first().ok_or_else(|| {
            AuthError::credential("the PFX has no certificate for its private key")
        })?;
        let pem = pem_encode("PRIVATE KEY", chain.key().as_der());
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
            AuthError::credential(format!("the private key is not a usable RSA key: {e}"))
        })?;
        Ok(Self {
            key,
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(cert.as_der())),
        })
    }

    /// Built without the `pfx` feature: PFX files are refused with the conversion command.
    #[cfg(not(feature = "pfx"))]
    pub(crate) fn from_pfx(_der: &[u8], _password: Option<&Secret>) -> Result<Self, AuthError> {
        Err(AuthError::credential(
            "is a PFX/PKCS#12 file, and this build reads PEM only (built without the `pfx` feature): convert it with openssl pkcs12 -in app.pfx -nodes -out app.pem",
        ))
    }

    #[cfg(test)]
    /// base64url(SHA-256(certificate DER)): the `x5t#S256` header.
    pub(crate) fn thumbprint_s256(&self) -> &str {
        &self.thumbprint_s256
    }

    /// A signed client assertion for `audience` (the token endpoint) and `client_id`: PS256,
    /// `typ` JWT, `x5t#S256`; `iss` = `sub` = client id, random GUID `jti`, `nbf` = `iat` =
    /// now, `exp` = now + 10 minutes.
    pub(crate) fn client_assertion(
        &self,
        audience: &str,
        client_id: &str,
    ) -> Result<Secret, AuthError> {
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".to_owned());
        header.x5t_s256 = Some(self.thumbprint_s256.clone());
        let now = chrono::Utc::now().timestamp();
        let claims = AssertionClaims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: random_guid(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| AuthError::credential(format!("cannot sign the client assertion: {e}")))
    }
}

/// What a `--certificate` file holds, judged by its content.
enum CertificateFormat<'a> {
    Pem(&'a str),
    /// DER bytes (decoded when the file held them as base64 text, as some exports do).
    Pfx(Vec<u8>),
    Unknown,
}

impl<'a> CertificateFormat<'a> {
    fn detect(bytes: &'a [u8]) -> Self {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if let Ok(text) = std::str::from_utf8(bytes) {
            if text.contains("-----BEGIN ") {
                return CertificateFormat::Pem(text);
            }
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if let Ok(der) = STANDARD.decode(compact.as_bytes())
                && der.first() == Some(&0x30)
            {
                return CertificateFormat::Pfx(der);
            }
        }
        // A PFX is a DER SEQUENCE (RFC 7292 PFX ::= SEQUENCE).
        if bytes.first() == Some(&0x30) {
            CertificateFormat::Pfx(bytes.to_vec())
        } else {
            CertificateFormat::Unknown
        }
    }
}

/// DER bytes as a PEM block with 64-column base64 lines (RFC 7468).
#[cfg(feature = "pfx")]
fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    let _ = writeln!(pem, "-----END {label}-----");
    pem
}

/// A random (version 4) GUID.
fn random_guid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = b.iter().fold(String::with_capacity(32), |mut h, x| {
        let _ = write!(h, "{x:02x}");
        h
    });
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Receives the device code prompt (`message`: which page to open, which code to enter).
pub(crate) type DeviceCodePrompt = Arc<dyn Fn(&str) + Send + Sync>;

/// How the client proves who it is.
#[derive(Clone)]
pub(crate) enum Credential {
    /// Client credentials with a secret (application token).
    ClientSecret(Secret),
    /// Client credentials with a certificate client assertion (application token).
    Certificate(Arc<CertificateCredential>),
    /// Device code sign-in of a user (delegated token); the prompt goes to the callback.
    DeviceCode(DeviceCodePrompt),
}

/// Which kind of credential signs in: said in sign-in errors and `doctor`, and it decides what
/// a token can do (a device code gives a delegated token; the others an application token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    ClientSecret,
    Certificate,
    DeviceCode,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::ClientSecret => "client secret",
            CredentialKind::Certificate => "certificate",
            CredentialKind::DeviceCode => "device code",
        })
    }
}

impl Credential {
    pub(crate) fn kind(&self) -> CredentialKind {
        match self {
            Credential::ClientSecret(_) => CredentialKind::ClientSecret,
            Credential::Certificate(_) => CredentialKind::Certificate,
            Credential::DeviceCode(_) => CredentialKind::DeviceCode,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ClientSecret(s) => f.debug_tuple("ClientSecret").field(s).finish(),
            Credential::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
            Credential::DeviceCode(_) => f.write_str("DeviceCode"),
        }
    }
}

#[cfg(test)]
pub(super) fn secret_for_tests(
    path: Option<&Path>,
    env: Option<String>,
) -> Result<Secret, AuthError> {
    client_secret_from(path, env)
}
