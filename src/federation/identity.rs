//! This instance's long-term identity: a key pair and a self-signed certificate made at first
//! use and kept in the database. The instance ID is the SHA-256 of the certificate's
//! SubjectPublicKeyInfo, shown in base32 groups; partners pin it (no CA is ever trusted).

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// A 32-byte instance ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceId(pub [u8; 32]);

impl InstanceId {
    /// The ID of the certificate (DER): SHA-256 of its SubjectPublicKeyInfo.
    pub fn of_cert(der: &[u8]) -> Result<InstanceId> {
        let cert_der = rustls::pki_types::CertificateDer::from(der);
        let cert = webpki::EndEntityCert::try_from(&cert_der)
            .map_err(|e| Error::Invalid(format!("That is not a valid certificate: {e:?}.")))?;
        let spki = cert.subject_public_key_info();
        Ok(InstanceId(Sha256::digest(spki.as_ref()).into()))
    }

    pub fn from_slice(b: &[u8]) -> Option<InstanceId> {
        b.try_into().ok().map(InstanceId)
    }

    /// Base32 (RFC 4648, no padding) in groups of 4: `ABCD-EFGH-…`.
    pub fn display(&self) -> String {
        let s = base32(&self.0);
        s.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl std::fmt::Display for InstanceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

fn base32(data: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The certificate (DER), the private key (PKCS#8 DER) and the ID.
#[derive(Clone)]
pub struct Identity {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
    pub id: InstanceId,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.id)
    }
}

/// This instance's identity, made (and stored) on first use.
pub fn load_or_create(conn: &Connection, now: &str) -> Result<Identity> {
    if let Some(id) = load(conn)? {
        return Ok(id);
    }
    let key = rcgen::KeyPair::generate()
        .map_err(|e| Error::Io(format!("could not make a key pair: {e}")))?;
    let mut params = rcgen::CertificateParams::new(vec!["partnermap.invalid".to_string()])
        .map_err(|e| Error::Io(format!("certificate parameters: {e}")))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "partnermap instance");
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::Io(format!("could not sign the certificate: {e}")))?;
    let cert_der = cert.der().to_vec();
    let key_der = key.serialize_der();
    let id = InstanceId::of_cert(&cert_der)?;
    // Another process may have made one at the same time: the first one stored wins.
    conn.execute(
        "INSERT OR IGNORE INTO fed_identity (id, cert_der, key_der, instance_id, created_at)
         VALUES (1, ?1, ?2, ?3, ?4)",
        params![cert_der, key_der, id.0.to_vec(), now],
    )?;
    Ok(load(conn)?.expect("just stored"))
}

fn load(conn: &Connection) -> Result<Option<Identity>> {
    Ok(conn
        .query_row(
            "SELECT cert_der, key_der, instance_id FROM fed_identity WHERE id = 1",
            [],
            |r| {
                let id: Vec<u8> = r.get(2)?;
                Ok(Identity {
                    cert_der: r.get(0)?,
                    key_der: r.get(1)?,
                    id: InstanceId::from_slice(&id).unwrap_or(InstanceId([0; 32])),
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_groups() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        let id = InstanceId([0xff; 32]);
        let d = id.display();
        assert_eq!(d.replace('-', "").len(), 52);
        assert!(d.split('-').all(|g| g.len() <= 4));
    }

    #[test]
    fn identity_is_made_once_and_id_is_the_spki_hash() {
        let mut conn = crate::store::open(std::path::Path::new(":memory:")).unwrap();
        let _ = &mut conn;
        let a = load_or_create(&conn, "2026-01-01T00:00:00Z").unwrap();
        let b = load_or_create(&conn, "2026-01-02T00:00:00Z").unwrap();
        assert_eq!(a.id, b.id);
        use rcgen::PublicKeyData;
        let key = rcgen::KeyPair::try_from(a.key_der.as_slice()).unwrap();
        let spki = key.subject_public_key_info();
        assert_eq!(a.id.0, <[u8; 32]>::from(Sha256::digest(&spki)));
    }
}
