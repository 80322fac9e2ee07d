//! Signed webhooks: checking that a request really comes from the provider. Mailgun signs a
//! timestamp and token with HMAC-SHA256 and the webhook signing key; Twilio signs the full URL
//! and the sorted form parameters with HMAC-SHA1 and the auth token (`X-Twilio-Signature`).
//! Both comparisons are constant-time. Algorithms and vectors: shared/docs/PROVIDERS.md.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// How far a Mailgun timestamp may be from now, either way: Mailgun warns that webhooks can be
/// delayed, so the window is generous (PROVIDERS.md 1.6).
pub const MAILGUN_MAX_SKEW_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signature is not in the expected form")]
    Malformed,
    #[error("the timestamp is too far from now (a replay, or a clock far off)")]
    Stale,
    #[error("the body does not match its bodySHA256")]
    BodyHash,
}

/// Mailgun: `hex(HMAC-SHA256(signing_key, timestamp + token)) == signature`, with the
/// timestamp within [`MAILGUN_MAX_SKEW_SECS`] of `now` (epoch seconds). Remembering tokens
/// against replays is the caller's part.
pub fn verify_mailgun(
    signing_key: &str,
    timestamp: &str,
    token: &str,
    signature: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    if (now - sent).abs() > MAILGUN_MAX_SKEW_SECS {
        return Err(SignatureError::Stale);
    }
    let expected = hex_decode(signature).ok_or(SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
        .map_err(|_| SignatureError::Malformed)?;
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The string Twilio signs: the URL, then each parameter name with its value, names in byte
/// order and a repeated name's values in byte order, with nothing between.
fn twilio_signed_string(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut s = url.to_owned();
    for (name, value) in sorted {
        s.push_str(name);
        s.push_str(value);
    }
    s
}

/// `base64(HMAC-SHA1(auth_token, url + sorted params))`, as Twilio computes it.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(twilio_signed_string(url, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL with its default port removed (`:443` for https, `:80` for http) and with it added:
/// Twilio's SDK accepts a signature over either (PROVIDERS.md 2.6).
fn url_variants(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return vec![url.to_owned()];
    };
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return vec![url.to_owned()],
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port == default => host,
        Some(_) => return vec![url.to_owned()],
        None => authority,
    };
    vec![
        format!("{scheme}://{host}{tail}"),
        format!("{scheme}://{host}:{default}{tail}"),
    ]
}

/// Checks `X-Twilio-Signature` on a form-encoded webhook. `url` is the full URL Twilio was
/// given (scheme, host, path, query), not what a proxy made of it.
pub fn verify_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> Result<(), SignatureError> {
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed)?;
    for candidate in url_variants(url) {
        let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
            .map_err(|_| SignatureError::Malformed)?;
        mac.update(twilio_signed_string(&candidate, params).as_bytes());
        if mac.verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// Checks a Twilio webhook with a JSON body: the URL carries `bodySHA256`, the hex SHA-256 of
/// the raw body, and the signature covers the URL alone.
pub fn verify_twilio_json(
    auth_token: &str,
    url: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), SignatureError> {
    let claimed = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("bodySHA256="))
        .ok_or(SignatureError::BodyHash)?;
    let actual = Sha256::digest(body);
    let actual: String = actual.iter().map(|b| format!("{b:02x}")).collect();
    if !claimed.eq_ignore_ascii_case(&actual) {
        return Err(SignatureError::BodyHash);
    }
    verify_twilio(auth_token, url, &[], signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn basic() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn mailgun_known_good_vector_and_tampering() {
        let (key, ts, token) = (
            "key-test-signing-0123456789abcdef",
            "1770920772",
            "e0b5477167110d68991efc6b9f89f0a11066af27834600e123",
        );
        let good = "a653b9dc47f76c56f059cb515adf6ec92b01d4e4ac3afb406635c6c4f3ee4a82";
        assert_eq!(verify_mailgun(key, ts, token, good, 1_770_920_800), Ok(()));
        assert_eq!(
            verify_mailgun("key-wrong", ts, token, good, 1_770_920_800),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_mailgun(key, ts, "another-token", good, 1_770_920_800),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_mailgun(key, ts, token, good, 1_770_920_772 + 16 * 60),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_mailgun(key, ts, token, "not hex", 1_770_920_800),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn twilio_known_good_vectors() {
        let docs = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            twilio_signature("12345", URL, &docs),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert_eq!(
            twilio_signature("12345", URL, &basic()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            twilio_signature("12345", URL, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &basic()
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            twilio_signature(
                "12345",
                "http://mycompany.com:80/myapp.php?foo=1&bar=2",
                &basic()
            ),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
    }

    #[test]
    fn twilio_verification_accepts_either_port_form_and_refuses_tampering() {
        assert_eq!(
            verify_twilio("12345", URL, &basic(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Ok(())
        );
        // Signed with :443, checked against the URL without it, and the other way round.
        assert_eq!(
            verify_twilio("12345", URL, &basic(), "kvajT1Ptam85bY51eRf/AJRuM3w="),
            Ok(())
        );
        assert_eq!(
            verify_twilio(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &basic(),
                "RSOYDt4T1cUTdK1PDd93/VVr8B8="
            ),
            Ok(())
        );
        // A port that is not the default is part of what was signed.
        assert_eq!(
            verify_twilio(
                "12345",
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                &basic(),
                "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
            ),
            Ok(())
        );
        let mut changed = basic();
        changed[4].1 = "+18005550000".into();
        assert_eq!(
            verify_twilio("12345", URL, &changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_twilio("54321", URL, &basic(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_twilio("12345", URL, &basic(), "%%%"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn twilio_json_bodies_are_checked_by_their_hash() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let url = format!(
            "{URL}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        assert_eq!(
            verify_twilio_json("12345", &url, body, "a9nBmqA0ju/hNViExpshrM61xv4="),
            Ok(())
        );
        assert_eq!(
            verify_twilio_json("12345", &url, b"{}", "a9nBmqA0ju/hNViExpshrM61xv4="),
            Err(SignatureError::BodyHash)
        );
        assert_eq!(
            verify_twilio_json("12345", URL, body, "a9nBmqA0ju/hNViExpshrM61xv4="),
            Err(SignatureError::BodyHash)
        );
    }
}
