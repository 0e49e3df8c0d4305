//! The Prometheus HTTP API's JSON answers (`/api/v1/query`, `/api/v1/query_range`), parsed.

use std::collections::BTreeMap;

use serde::Deserialize;

pub type Labels = BTreeMap<String, String>;

/// One series of an instant vector: its labels, its value and the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub at: f64,
    pub value: f64,
}

/// One series of a range query: `(time, value)` pairs, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub values: Vec<(f64, f64)>,
}

/// What a query answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    Scalar(f64),
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<RawSample>),
    Matrix(Vec<RawSeries>),
    Scalar((f64, String)),
    String((f64, String)),
}

#[derive(Deserialize)]
struct RawSample {
    metric: Labels,
    value: (f64, String),
}

#[derive(Deserialize)]
struct RawSeries {
    metric: Labels,
    values: Vec<(f64, String)>,
}

/// Why an answer is not usable.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// `"status":"error"`: the server refused the query (bad PromQL, timeout, too many samples).
    Refused { kind: String, message: String },
    /// Not the API's JSON at all (a proxy's login page, a truncated body).
    Malformed(String),
}

/// Values are strings in the API ("NaN", "+Inf" included); Rust's parser takes them all.
fn number(s: &str) -> f64 {
    s.parse().unwrap_or(f64::NAN)
}

pub fn parse(body: &[u8]) -> Result<Answer, ParseError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        let head = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        ParseError::Malformed(format!("{e} (answer began {head:?})"))
    })?;
    if env.status != "success" {
        return Err(ParseError::Refused {
            kind: env.error_type.unwrap_or_else(|| "error".into()),
            message: env.error.unwrap_or_default(),
        });
    }
    match env.data {
        Some(Data::Vector(v)) => Ok(Answer::Vector(
            v.into_iter()
                .map(|s| Sample { labels: s.metric, at: s.value.0, value: number(&s.value.1) })
                .collect(),
        )),
        Some(Data::Matrix(m)) => Ok(Answer::Matrix(
            m.into_iter()
                .map(|s| Series {
                    labels: s.metric,
                    values: s.values.into_iter().map(|(t, v)| (t, number(&v))).collect(),
                })
                .collect(),
        )),
        Some(Data::Scalar((_, v)) | Data::String((_, v))) => Ok(Answer::Scalar(number(&v))),
        None => Err(ParseError::Malformed("a success without data".into())),
    }
}

/// The node a series belongs to, whichever spelling its exporter used: gpudock and older
/// dcgm-exporter write `Hostname`, newer dcgm-exporter `hostname`; `exported_` when they clashed
/// with a label of the scrape.
pub fn hostname(labels: &Labels) -> Option<&str> {
    first(labels, &["Hostname", "hostname", "exported_Hostname", "exported_hostname"])
}

/// The GPU's UUID (`UUID` or `uuid`).
pub fn uuid(labels: &Labels) -> Option<&str> {
    first(labels, &["UUID", "uuid", "exported_UUID"])
}

/// The first of `names` present and not empty.
pub fn first<'a>(labels: &'a Labels, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| labels.get(*n).map(String::as_str).filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_answer() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"Hostname":"n1","s":"g"},"value":[1764451200.5,"8"]},
            {"metric":{"Hostname":"n2","s":"p"},"value":[1764451200.5,"NaN"]}]}}"#;
        let Ok(Answer::Vector(v)) = parse(body) else { panic!("not a vector") };
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].labels["Hostname"], "n1");
        assert_eq!(v[0].value, 8.0);
        assert_eq!(v[0].at, 1764451200.5);
        assert!(v[1].value.is_nan());
    }

    #[test]
    fn a_matrix_answer() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"Hostname":"n1"},"values":[[100,"1"],[130,"+Inf"],[160,"42"]]}]}}"#;
        let Ok(Answer::Matrix(m)) = parse(body) else { panic!("not a matrix") };
        assert_eq!(m[0].values.len(), 3);
        assert_eq!(m[0].values[1].1, f64::INFINITY);
        assert_eq!(m[0].values[2], (160.0, 42.0));
    }

    #[test]
    fn an_error_answer_and_garbage() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        assert_eq!(
            parse(body),
            Err(ParseError::Refused { kind: "bad_data".into(), message: "parse error at char 4".into() })
        );
        assert!(
            matches!(parse(b"<html>login</html>"), Err(ParseError::Malformed(m)) if m.contains("<html>"))
        );
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parse(scalar), Ok(Answer::Scalar(3.0)));
    }

    #[test]
    fn label_variants() {
        let l = |pairs: &[(&str, &str)]| -> Labels {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(hostname(&l(&[("Hostname", "a")])), Some("a"));
        assert_eq!(hostname(&l(&[("hostname", "b")])), Some("b"));
        assert_eq!(hostname(&l(&[("Hostname", ""), ("exported_hostname", "c")])), Some("c"));
        assert_eq!(hostname(&l(&[("instance", "x:9400")])), None);
        assert_eq!(uuid(&l(&[("uuid", "GPU-1")])), Some("GPU-1"));
    }
}
