//! Tickets as the buyer sees them: the QR image of one of their own tickets.

use crate::error::AppError;
use crate::error::Code;
use crate::ids::looks_like_id;
use crate::model::tickets::qr_svg;
use crate::state::AppState;
use crate::store::tickets::ticket_code_for_user;

fn ticket_not_found() -> AppError {
    AppError::new(Code::TicketNotFound, "票券不存在")
}

/// The SVG QR code of a ticket the buyer owns; anyone else's is not found.
pub(crate) async fn qr_for_user(
    state: &AppState,
    user_id: &str,
    ticket_id: &str,
) -> Result<String, AppError> {
    if !looks_like_id(ticket_id) {
        return Err(ticket_not_found());
    }
    let (uid, tid) = (user_id.to_string(), ticket_id.to_string());
    let code = state
        .store
        .read(move |c| ticket_code_for_user(c, &uid, &tid))
        .await?
        .ok_or_else(ticket_not_found)?;
    qr_svg(&code).ok_or_else(ticket_not_found)
}
