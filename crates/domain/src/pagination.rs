//! Page requests and pages of results, shared by every list in the UI and the API.

use serde::Serialize;

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;

/// A 1-based page number and a page size, clamped to sane bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl PageRequest {
    /// Missing, zero or oversized values fall back to the nearest sensible one.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Self {
        let page = page.unwrap_or(1).max(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE);
        Self { page, per_page }
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(None, None)
    }
}

/// One page of items and the total that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, request: PageRequest) -> Self {
        Self {
            items,
            total,
            page: request.page(),
            per_page: request.per_page(),
        }
    }

    pub fn has_next(&self) -> bool {
        i64::from(self.page) * i64::from(self.per_page) < self.total
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_out_of_range_values() {
        let check = |page, per, expected: (u32, u32, i64)| {
            let r = PageRequest::new(page, per);
            assert_eq!((r.page(), r.per_page(), r.offset()), expected);
        };
        check(None, None, (1, 50, 0));
        check(Some(0), Some(0), (1, 1, 0));
        check(Some(3), Some(20), (3, 20, 40));
        check(Some(2), Some(10_000), (2, 200, 200));
    }

    #[test]
    fn knows_when_there_is_a_next_page() {
        let r = PageRequest::new(Some(1), Some(2));
        assert!(Page::new(vec![1, 2], 3, r).has_next());
        assert!(!Page::new(vec![1, 2], 2, r).has_next());
    }
}
