//! Reads the Prometheus text format that `GET /metrics` answers: one sample per line, a name,
//! its labels and a value. The lab asks for the plain text format (no exemplars), and needs no
//! more of it than this: comments and `# TYPE` lines are skipped, timestamps ignored.

use thiserror::Error;

/// One line of the exposition: `name{label="value",…} 12.5`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("/metrics line {line}: {problem}")]
pub struct ExpositionError {
    pub line: usize,
    pub problem: &'static str,
}

/// Every sample of `text`, in order.
pub fn parse(text: &str) -> Result<Vec<Sample>, ExpositionError> {
    let mut samples = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |problem| ExpositionError { line: index + 1, problem };
        samples.push(sample(line).map_err(fail)?);
    }
    Ok(samples)
}

fn sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = line[..name_end].to_owned();
    let (labels, rest) = if line[name_end..].starts_with('{') {
        labels(&line[name_end + 1..])?
    } else {
        (Vec::new(), &line[name_end..])
    };
    let value = rest.split_whitespace().next().ok_or("no value")?;
    Ok(Sample { name, labels, value: number(value)? })
}

type Labels = Vec<(String, String)>;

/// The labels after `{`, and what follows the closing `}`.
fn labels(mut rest: &str) -> Result<(Labels, &str), &'static str> {
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let equals = rest.find('=').ok_or("a label without a value")?;
        let key = rest[..equals].trim().to_owned();
        let quoted = rest[equals + 1..].strip_prefix('"').ok_or("a label value not quoted")?;
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next() {
                Some((at, '"')) => break at,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => return Err("a label value not closed"),
                },
                Some((_, c)) => value.push(c),
                None => return Err("a label value not closed"),
            }
        };
        labels.push((key, value));
        rest = &quoted[end + 1..];
    }
}

fn number(text: &str) -> Result<f64, &'static str> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| "a value that is not a number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_labels_escapes_and_special_values() {
        let text = "# HELP x y\n# TYPE x counter\n\
            plain 3\n\
            with_labels{a=\"1\",b=\"say \\\"hi\\\"\\n\"} 2.5 1700000000\n\
            bucket{le=\"+Inf\",route=\"/drawers/{id}\"} 7\n\
            gauge{} NaN\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0], Sample { name: "plain".into(), labels: vec![], value: 3.0 });
        assert_eq!(samples[1].label("b"), Some("say \"hi\"\n"));
        assert_eq!(samples[1].value, 2.5);
        assert_eq!(samples[2].label("le"), Some("+Inf"));
        assert_eq!(samples[2].label("route"), Some("/drawers/{id}"));
        assert!(samples[3].value.is_nan());
    }

    #[test]
    fn a_broken_line_is_an_error_naming_it() {
        let error = parse("ok 1\nbroken{a=1} 2\n").unwrap_err();
        assert_eq!(error, ExpositionError { line: 2, problem: "a label value not quoted" });
        assert!(parse("name{a=\"open} 1").is_err());
        assert!(parse("name twelve").is_err());
    }
}
