//! A span of days, as every filter and report takes it: each end optional, `from` never
//! after `to`.

use chrono::NaiveDate;

/// Days from `from` to `to`, both inclusive; an absent end is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// A range whose `from` is after its `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("from must not be after to")]
pub struct InvertedRange;

impl DateRange {
    /// The range from `from` to `to`, unless `from` is after `to`.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Self, InvertedRange> {
        match (from, to) {
            (Some(a), Some(b)) if a > b => Err(InvertedRange),
            _ => Ok(Self { from, to }),
        }
    }

    /// The first day, if the range has one.
    pub fn from(&self) -> Option<NaiveDate> {
        self.from
    }

    /// The last day, if the range has one.
    pub fn to(&self) -> Option<NaiveDate> {
        self.to
    }

    /// How many days the range spans (both ends included), when it is closed.
    pub fn days(&self) -> Option<i64> {
        Some((self.to? - self.from?).num_days() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, 1, d)
    }

    #[test]
    fn from_may_equal_but_not_follow_to() {
        assert_eq!(DateRange::new(day(2), day(1)), Err(InvertedRange));
        let one = DateRange::new(day(3), day(3)).unwrap();
        assert_eq!(one.days(), Some(1));
        assert_eq!(DateRange::new(day(1), day(31)).unwrap().days(), Some(31));
        let open = DateRange::new(None, day(3)).unwrap();
        assert_eq!((open.from(), open.to(), open.days()), (None, day(3), None));
    }
}
