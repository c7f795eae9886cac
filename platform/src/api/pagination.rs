//! Cursor pagination shared by list endpoints.

use crate::error::{ApiError, ApiResult};

/// Default and maximum page sizes.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Validates `limit` (1..=200, default 50) and `cursor` (an id returned as
/// `next_cursor` by the previous page).
pub fn page(limit: Option<u32>, cursor: Option<String>) -> ApiResult<(u32, Option<String>)> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let cursor = cursor.filter(|c| !c.is_empty());
    if let Some(c) = &cursor {
        if !crate::ids::is_id(c) {
            return Err(ApiError::new(
                crate::error::ErrorCode::InvalidParameter,
                "cursor is not valid",
            ));
        }
    }
    Ok((limit, cursor))
}

/// Trims a `limit + 1` fetch to `limit` and returns the cursor of the next page.
pub fn split<T>(
    mut rows: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(id);
        (rows, next)
    } else {
        (rows, None)
    }
}
