//! Numbers as the screen writes them, short enough for 80 columns: durations in ms or s,
//! shares in percent, sizes in MiB, and `-` for what is not known.

pub fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if !s.is_finite() => "-".to_owned(),
        Some(s) if s < 0.01 => format!("{:.1}ms", s * 1000.0),
        Some(s) if s < 1.0 => format!("{:.0}ms", s * 1000.0),
        Some(s) => format!("{s:.2}s"),
    }
}

pub fn percent(share: Option<f64>) -> String {
    share.filter(|s| s.is_finite()).map_or_else(|| "-".to_owned(), |s| format!("{:.2}%", s * 100.0))
}

pub fn burn(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r.is_finite() && r >= 100.0 => format!("{r:.0}"),
        Some(r) if r.is_finite() => format!("{r:.1}"),
        _ => "-".to_owned(),
    }
}

pub fn mebibytes(bytes: Option<f64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{:.0} MiB", b / 1_048_576.0))
}

/// At most `width` characters of `text`, `…` ending a cut one.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_short_numbers() {
        assert_eq!(duration(Some(0.0042)), "4.2ms");
        assert_eq!(duration(Some(0.25)), "250ms");
        assert_eq!(duration(Some(3.021)), "3.02s");
        assert_eq!(duration(None), "-");
        assert_eq!(percent(Some(0.1)), "10.00%");
        assert_eq!(percent(Some(f64::NAN)), "-");
        assert_eq!(burn(Some(144.2)), "144");
        assert_eq!(burn(Some(0.04)), "0.0");
        assert_eq!(mebibytes(Some(40.0 * 1_048_576.0)), "40 MiB");
        assert_eq!(fit("GET /drawers/{id}/snacks/{snack}", 10), "GET /draw…");
        assert_eq!(fit("short", 10), "short");
    }
}
