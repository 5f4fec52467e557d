//! How refusals become HTTP answers: a status and a JSON `{"error", "code"}` body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use c2c_core::{Refusal, RefusalReason};

use crate::wire::ErrorBody;

/// The status a refusal is answered with.
pub fn status_for(reason: RefusalReason) -> StatusCode {
    use RefusalReason::*;
    match reason {
        Malformed => StatusCode::BAD_REQUEST,
        BadSignature | StaleTimestamp => StatusCode::UNAUTHORIZED,
        UnknownSender | OtherCity | NotAMember | AuthenticationFailed => StatusCode::FORBIDDEN,
        UnknownCity => StatusCode::NOT_FOUND,
        WrongChannel | Gap => StatusCode::CONFLICT,
        TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnknownPartnership | UnknownConversation | EmptyText | Automatic | Undecryptable => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The HTTP answer for a refusal.
pub fn refusal_response(refusal: &Refusal) -> Response {
    let body = ErrorBody { error: refusal.detail.clone(), code: refusal.reason.as_str().to_string() };
    (status_for(refusal.reason), Json(body)).into_response()
}
