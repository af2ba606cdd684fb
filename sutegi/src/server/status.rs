//! The one way to name an HTTP status: [`Status`], its constants and
//! reason phrases ([`status_reason`]), and the rule of which codes a
//! handler may send as its final response.
//!
//! Every public constructor of a response takes `impl Into<Status>`, so a
//! plain `u16` still works and goes through the same checks: a code that
//! cannot be written on a status line (outside 100..=999) becomes 500 when
//! converted, and an interim code (1xx, `101 Switching Protocols`
//! included: this server upgrades nothing) becomes 500 when a response is
//! built with it; both are logged. The server also writes no body for 204
//! and 304 (see `write.rs`).

use std::fmt;

/// An HTTP status code.
///
/// The constants carry the names the `http` crate uses (`Status::OK`,
/// `Status::CREATED`, `Status::NOT_FOUND`, …), plus RFC 9110's newer names
/// where they differ (`CONTENT_TOO_LARGE`, `UNPROCESSABLE_CONTENT`). Any
/// code converts from a `u16`:
///
/// ```
/// use sutegi::Status;
/// assert_eq!(Status::from(404), Status::NOT_FOUND);
/// assert_eq!(Status::NOT_FOUND.as_u16(), 404);
/// assert_eq!(Status::NOT_FOUND.reason(), "Not Found");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(u16);

macro_rules! status_constants {
    ($($code:literal $name:ident $doc:literal;)*) => {
        impl Status {
            $(
                #[doc = concat!("`", stringify!($code), " ", $doc, "`")]
                pub const $name: Status = Status($code);
            )*
        }
    };
}

status_constants! {
    100 CONTINUE "Continue";
    101 SWITCHING_PROTOCOLS "Switching Protocols";
    102 PROCESSING "Processing";
    103 EARLY_HINTS "Early Hints";
    200 OK "OK";
    201 CREATED "Created";
    202 ACCEPTED "Accepted";
    203 NON_AUTHORITATIVE_INFORMATION "Non-Authoritative Information";
    204 NO_CONTENT "No Content";
    205 RESET_CONTENT "Reset Content";
    206 PARTIAL_CONTENT "Partial Content";
    207 MULTI_STATUS "Multi-Status";
    208 ALREADY_REPORTED "Already Reported";
    226 IM_USED "IM Used";
    300 MULTIPLE_CHOICES "Multiple Choices";
    301 MOVED_PERMANENTLY "Moved Permanently";
    302 FOUND "Found";
    303 SEE_OTHER "See Other";
    304 NOT_MODIFIED "Not Modified";
    305 USE_PROXY "Use Proxy";
    307 TEMPORARY_REDIRECT "Temporary Redirect";
    308 PERMANENT_REDIRECT "Permanent Redirect";
    400 BAD_REQUEST "Bad Request";
    401 UNAUTHORIZED "Unauthorized";
    402 PAYMENT_REQUIRED "Payment Required";
    403 FORBIDDEN "Forbidden";
    404 NOT_FOUND "Not Found";
    405 METHOD_NOT_ALLOWED "Method Not Allowed";
    406 NOT_ACCEPTABLE "Not Acceptable";
    407 PROXY_AUTHENTICATION_REQUIRED "Proxy Authentication Required";
    408 REQUEST_TIMEOUT "Request Timeout";
    409 CONFLICT "Conflict";
    410 GONE "Gone";
    411 LENGTH_REQUIRED "Length Required";
    412 PRECONDITION_FAILED "Precondition Failed";
    413 PAYLOAD_TOO_LARGE "Content Too Large (the `http` crate's name)";
    413 CONTENT_TOO_LARGE "Content Too Large (RFC 9110's name)";
    414 URI_TOO_LONG "URI Too Long";
    415 UNSUPPORTED_MEDIA_TYPE "Unsupported Media Type";
    416 RANGE_NOT_SATISFIABLE "Range Not Satisfiable";
    417 EXPECTATION_FAILED "Expectation Failed";
    418 IM_A_TEAPOT "I'm a teapot";
    421 MISDIRECTED_REQUEST "Misdirected Request";
    422 UNPROCESSABLE_ENTITY "Unprocessable Content (the `http` crate's name)";
    422 UNPROCESSABLE_CONTENT "Unprocessable Content (RFC 9110's name)";
    423 LOCKED "Locked";
    424 FAILED_DEPENDENCY "Failed Dependency";
    425 TOO_EARLY "Too Early";
    426 UPGRADE_REQUIRED "Upgrade Required";
    428 PRECONDITION_REQUIRED "Precondition Required";
    429 TOO_MANY_REQUESTS "Too Many Requests";
    431 REQUEST_HEADER_FIELDS_TOO_LARGE "Request Header Fields Too Large";
    451 UNAVAILABLE_FOR_LEGAL_REASONS "Unavailable For Legal Reasons";
    500 INTERNAL_SERVER_ERROR "Internal Server Error";
    501 NOT_IMPLEMENTED "Not Implemented";
    502 BAD_GATEWAY "Bad Gateway";
    503 SERVICE_UNAVAILABLE "Service Unavailable";
    504 GATEWAY_TIMEOUT "Gateway Timeout";
    505 HTTP_VERSION_NOT_SUPPORTED "HTTP Version Not Supported";
    506 VARIANT_ALSO_NEGOTIATES "Variant Also Negotiates";
    507 INSUFFICIENT_STORAGE "Insufficient Storage";
    508 LOOP_DETECTED "Loop Detected";
    510 NOT_EXTENDED "Not Extended";
    511 NETWORK_AUTHENTICATION_REQUIRED "Network Authentication Required";
}

impl Status {
    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The reason phrase (RFC 9110's wording, as in the error body's
    /// `error` field). Codes no RFC names get their class: `"Client
    /// Error"`, `"Server Error"`, and so on.
    pub fn reason(self) -> &'static str {
        let known = status_reason(self.0);
        if !known.is_empty() {
            return known;
        }
        match self.0 {
            102 => "Processing",
            103 => "Early Hints",
            207 => "Multi-Status",
            208 => "Already Reported",
            226 => "IM Used",
            418 => "I'm a teapot",
            423 => "Locked",
            424 => "Failed Dependency",
            425 => "Too Early",
            506 => "Variant Also Negotiates",
            507 => "Insufficient Storage",
            508 => "Loop Detected",
            510 => "Not Extended",
            511 => "Network Authentication Required",
            100..=199 => "Informational",
            200..=299 => "Success",
            300..=399 => "Redirection",
            400..=499 => "Client Error",
            _ => "Server Error",
        }
    }

    /// Whether the code is 2xx.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// Whether the code is 4xx or 5xx.
    pub const fn is_error(self) -> bool {
        self.0 >= 400
    }
}

impl From<u16> for Status {
    /// Any three-digit code (100 to 999) is kept as is. Anything else cannot
    /// be written on a status line and becomes 500 (and is logged), so a bad
    /// computation answers an error instead of a broken response.
    fn from(code: u16) -> Status {
        if (100..=999).contains(&code) {
            Status(code)
        } else {
            log::error!("{code} is not a status code; answering 500 instead");
            Status::INTERNAL_SERVER_ERROR
        }
    }
}

impl Status {
    /// Whether a handler may send this as its final response: not an
    /// interim 1xx code (those announce another response to come, and
    /// `101 Switching Protocols` an upgrade this server does not do).
    pub const fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The code a response built with this status carries: the code
    /// itself, or 500 (logged) for an interim one.
    pub(crate) fn final_code(self) -> u16 {
        if self.is_final() {
            self.0
        } else {
            log::error!("a response cannot carry the interim status {self}; answering 500 instead");
            500
        }
    }
}

impl From<Status> for u16 {
    fn from(status: Status) -> u16 {
        status.0
    }
}

impl fmt::Display for Status {
    /// `404 Not Found`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status({} {})", self.0, self.reason())
    }
}

/// The canonical reason phrase of a status code (RFC 9110 §15), or `""`
/// for a code it does not name.
pub fn status_reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_follow_rfc_9110() {
        assert_eq!(status_reason(413), "Content Too Large");
        assert_eq!(status_reason(422), "Unprocessable Content");
        assert_eq!(status_reason(599), "");
    }

    #[test]
    fn codes_that_cannot_be_sent_become_500() {
        assert_eq!(Status::from(7), Status::INTERNAL_SERVER_ERROR);
        assert_eq!(Status::from(1000), Status::INTERNAL_SERVER_ERROR);
        assert_eq!(Status::from(999).as_u16(), 999);
        assert_eq!(Status::SWITCHING_PROTOCOLS.final_code(), 500);
        assert_eq!(Status::CONTINUE.final_code(), 500);
        assert_eq!(Status::OK.final_code(), 200);
        assert!(!Status::EARLY_HINTS.is_final() && Status::NO_CONTENT.is_final());
    }
}
