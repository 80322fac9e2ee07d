//! HTTP-level protections: CSRF, security headers, rate limits, and the device cookie that keeps
//! the owner able to sign in while someone else hammers their account.

pub mod csrf;
pub mod device;
pub mod headers;
pub mod rate_limit;

/// The client's address as seen by this server. pi-crm is reached directly (no proxy in front),
/// so forwarded headers are not trusted.
pub fn peer_ip(req: &actix_web::HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}
