//! A bounded time series for sparklines and charts (lag, error rate).

use std::collections::VecDeque;

use super::time::Timestamp;

/// Samples over a sliding window; `None` samples are unknown values and are
/// kept so charts can show gaps instead of inventing zeros.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    points: VecDeque<(Timestamp, Option<f64>)>,
    window_ms: i64,
}

impl Series {
    pub fn new(window_ms: i64) -> Self {
        Self {
            points: VecDeque::new(),
            window_ms,
        }
    }

    pub fn push(&mut self, at: Timestamp, value: Option<f64>) {
        if let Some((last, _)) = self.points.back()
            && at <= *last
        {
            return;
        }
        self.points.push_back((at, value));
        while let Some((first, _)) = self.points.front() {
            if at.since(*first) > self.window_ms {
                self.points.pop_front();
            } else {
                break;
            }
        }
    }

    pub fn points(&self) -> impl DoubleEndedIterator<Item = &(Timestamp, Option<f64>)> {
        self.points.iter()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn last(&self) -> Option<Option<f64>> {
        self.points.back().map(|(_, v)| *v)
    }

    /// Largest known value in the window.
    pub fn max(&self) -> Option<f64> {
        self.points
            .iter()
            .filter_map(|(_, v)| *v)
            .fold(None, |acc, v| Some(acc.map_or(v, |a: f64| a.max(v))))
    }

    /// The last `n` samples, oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = &(Timestamp, Option<f64>)> {
        self.points.iter().skip(self.points.len().saturating_sub(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_drops_old_points_and_keeps_unknowns() {
        let mut s = Series::new(10_000);
        for i in 0..20 {
            let v = if i == 15 { None } else { Some(i as f64) };
            s.push(Timestamp::from_secs(i), v);
        }
        assert_eq!(s.len(), 11);
        assert_eq!(s.max(), Some(19.0));
        assert!(s.points().any(|(_, v)| v.is_none()));
        s.push(Timestamp::from_secs(5), Some(100.0));
        assert_eq!(s.max(), Some(19.0), "out-of-order samples are ignored");
    }
}
