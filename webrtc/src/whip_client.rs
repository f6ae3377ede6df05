//! The participant's side of the WHIP-style signaling (RFC 9725): POST the SDP offer, get the
//! answer and the resource URL; DELETE the resource to leave. Over plain HTTP on loopback,
//! with `ureq` (no TLS compiled in).

use std::io::Read;

use crate::error::WebrtcError;

/// The largest SDP answer read.
const MAX_ANSWER: u64 = 64 * 1024;

/// POSTs `offer` (SDP) to `endpoint`; returns the answer (SDP) and the resource URL.
///
/// # Errors
/// [`WebrtcError::Signaling`] for a transport failure or an HTTP error status;
/// [`WebrtcError::BadAnswer`] without a `Location` header or with an unreadable body.
pub fn post_offer(endpoint: &str, offer: &str) -> Result<(String, String), WebrtcError> {
    let mut response = ureq::post(endpoint)
        .header("Content-Type", "application/sdp")
        .send(offer)
        .map_err(|e| WebrtcError::Signaling(Box::new(e)))?;
    if response.status().as_u16() != 201 {
        return Err(WebrtcError::BadAnswer("status 201 Created"));
    }
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or(WebrtcError::BadAnswer("a Location header"))?;
    let location = resolve(endpoint, location);
    let mut answer = String::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_ANSWER)
        .read_to_string(&mut answer)
        .map_err(|_| WebrtcError::BadAnswer("a UTF-8 SDP body"))?;
    Ok((answer, location))
}

/// DELETEs the resource: the participant leaves.
///
/// # Errors
/// [`WebrtcError::Signaling`].
pub fn delete_resource(resource: &str) -> Result<(), WebrtcError> {
    ureq::delete(resource)
        .call()
        .map_err(|e| WebrtcError::Signaling(Box::new(e)))?;
    Ok(())
}

/// A `Location` relative to the endpoint's origin made absolute.
fn resolve(endpoint: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let after_scheme = endpoint.find("://").map_or(0, |i| i + 3);
    let origin_end = endpoint[after_scheme..]
        .find('/')
        .map_or(endpoint.len(), |i| after_scheme + i);
    format!("{}{}", &endpoint[..origin_end], location)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn locations_resolve_against_the_origin() {
        assert_eq!(
            resolve("http://127.0.0.1:9/whip", "/whip/3"),
            "http://127.0.0.1:9/whip/3"
        );
        assert_eq!(resolve("http://a:1", "http://b:2/x"), "http://b:2/x");
    }
}
