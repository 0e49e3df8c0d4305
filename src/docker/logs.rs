//! Following a container's output: lines batched so a chatty container costs one message per
//! batch, not per line.

use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc::Sender;

use super::EngineError;
use super::model::{ContainerId, LogLine};

const LOG_BATCH: usize = 256;
const LOG_FLUSH: Duration = Duration::from_millis(100);

/// New lines of one container's output.
#[derive(Debug, Clone, PartialEq)]
pub struct LogChunk {
    pub id: ContainerId,
    pub lines: Vec<LogLine>,
}

/// How a log stream ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsEnd {
    /// The stream failed (None: the container stopped).
    pub error: Option<EngineError>,
    /// The container's exit code, when it is known.
    pub exit_code: Option<i64>,
}

/// Follows the log of `id` from `tail` lines back until the stream ends (the container
/// stopped) or fails.
pub async fn follow<M: From<LogChunk>>(
    docker: &Docker,
    tx: &Sender<M>,
    id: &ContainerId,
    tail: usize,
) -> LogsEnd {
    let opts =
        LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).tail(&tail.to_string()).build();
    let error = pump(docker.logs(id.as_str(), Some(opts)), tx, id).await;
    // Still there (no --rm): its exit code says how it ended.
    let exit_code = match docker.inspect_container(id.as_str(), None).await {
        Ok(i) => i.state.filter(|s| s.running != Some(true)).and_then(|s| s.exit_code),
        Err(_) => None,
    };
    LogsEnd { error, exit_code }
}

/// Publishes the lines of an output stream (logs, or an attach made before the container
/// started) until it ends; returns its failure.
pub async fn pump<M: From<LogChunk>>(
    mut stream: impl Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
    tx: &Sender<M>,
    id: &ContainerId,
) -> Option<EngineError> {
    let mut batch: Vec<LogLine> = Vec::new();
    // One per stream: stdout and stderr lines interleave but never mix.
    let mut splitters = [LineSplitter::default(), LineSplitter::default()];
    let mut last_flush = tokio::time::Instant::now();
    let send = |lines: Vec<LogLine>| tx.send(M::from(LogChunk { id: id.clone(), lines }));
    let failure = loop {
        let next = tokio::time::timeout(LOG_FLUSH, stream.next()).await;
        let idle = next.is_err();
        match next {
            Err(_) => {}
            Ok(None) => break None,
            Ok(Some(Err(e))) => break Some(EngineError::from(e)),
            Ok(Some(Ok(out))) => {
                let (stderr, bytes) = match out {
                    LogOutput::StdErr { message } => (true, message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => (false, message),
                    LogOutput::StdIn { .. } => continue,
                };
                let mut lines = Vec::new();
                splitters[usize::from(stderr)].push(&bytes, &mut lines);
                batch.extend(lines.into_iter().map(|text| LogLine { stderr, text }));
            }
        }
        if !batch.is_empty() && (batch.len() >= LOG_BATCH || idle || last_flush.elapsed() >= LOG_FLUSH) {
            last_flush = tokio::time::Instant::now();
            if send(std::mem::take(&mut batch)).await.is_err() {
                // Nobody is reading any more.
                return None;
            }
        }
    };
    for (i, splitter) in splitters.iter_mut().enumerate() {
        if let Some(text) = splitter.rest() {
            batch.push(LogLine { stderr: i == 1, text });
        }
    }
    if !batch.is_empty() {
        let _ = send(batch).await;
    }
    failure
}

pub use super::logs_save::{save_whole, write_new};

/// The longest line kept. A container can write a 64 MB line with no newline (a progress
/// bar, a binary blob); past this it is shown cut, with a mark, and the rest of it dropped.
pub const MAX_LINE: usize = 64 * 1024;

/// Output bytes → lines, each byte looked at once however the output is chunked. A carriage
/// return starts the line over, so a `\r` progress bar shows its latest state.
#[derive(Debug, Default)]
pub(super) struct LineSplitter {
    partial: Vec<u8>,
    /// The line passed `MAX_LINE` and was sent cut: drop the rest of it.
    skipping: bool,
    /// The last chunk ended in `\r`: a newline next makes it a CRLF, anything else a redraw.
    pending_cr: bool,
}

impl LineSplitter {
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) {
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.take(&rest[..i], out);
            self.pending_cr = false;
            if self.skipping {
                self.skipping = false;
            } else {
                out.push(self.line());
            }
            rest = &rest[i + 1..];
        }
        self.take(rest, out);
    }

    fn take(&mut self, mut chunk: &[u8], out: &mut Vec<String>) {
        if chunk.is_empty() {
            return;
        }
        if std::mem::take(&mut self.pending_cr) {
            self.partial.clear();
        }
        if chunk.last() == Some(&b'\r') {
            self.pending_cr = true;
            chunk = &chunk[..chunk.len() - 1];
        }
        if let Some(r) = chunk.iter().rposition(|&b| b == b'\r') {
            self.partial.clear();
            chunk = &chunk[r + 1..];
        }
        if self.skipping {
            return;
        }
        let room = MAX_LINE - self.partial.len();
        if chunk.len() <= room {
            self.partial.extend_from_slice(chunk);
            return;
        }
        self.partial.extend_from_slice(&chunk[..room]);
        let mut line = self.line();
        line.push_str(&format!(" … [line cut at {} KiB]", MAX_LINE / 1024));
        out.push(line);
        self.skipping = true;
    }

    fn line(&mut self) -> String {
        let text = readable(&String::from_utf8_lossy(&self.partial));
        self.partial.clear();
        text
    }

    /// What is left when the stream ends: the last line, if it had no newline.
    pub(super) fn rest(&mut self) -> Option<String> {
        (!self.partial.is_empty() && !self.skipping).then(|| self.line())
    }
}

/// A line as a terminal would have shown it: colour and cursor sequences (ESC [ … letter, and
/// ESC ] … BEL / ESC \\) dropped rather than shown as `[31m`, tabs expanded to 8 columns.
fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut col = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ST (ESC \\).
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.peek() == Some(&'\\')) {
                            if c == '\u{1b}' {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                // Any other two-character escape.
                _ => {}
            },
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> (Vec<String>, Option<String>) {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        (out, s.rest())
    }

    #[test]
    fn lines_across_chunks_crlf_and_progress_bars() {
        let (lines, rest) = split(&[b"a\nb", b"c\r\n", b"10%\r20%\r", b"100%\n", b"tail"]);
        assert_eq!(lines, ["a", "bc", "100%"]);
        assert_eq!(rest.as_deref(), Some("tail"));
        let (lines, _) = split(&[b"x\r", b"\ny\n"]);
        assert_eq!(lines, ["x", "y"], "a CRLF split between chunks is one line end");
    }

    #[test]
    fn a_huge_line_without_newline_shows_cut_and_stays_bounded() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        let mb = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            s.push(&mb, &mut out);
            assert!(s.partial.len() <= MAX_LINE);
        }
        assert_eq!(out.len(), 1, "shown once, cut");
        assert!(out[0].len() < MAX_LINE + 64 && out[0].ends_with("[line cut at 64 KiB]"), "{}", out[0].len());
        s.push(b"yy\nnext\n", &mut out);
        assert_eq!(&out[1..], ["next"], "the rest of the long line is dropped");
    }

    #[test]
    fn colour_codes_go_and_tabs_expand() {
        let (lines, _) = split(&[b"\x1b[31mRED\x1b[0m ok\n", b"a\tb\n", b"\x1b]0;title\x07x\n"]);
        assert_eq!(lines, ["RED ok", "a       b", "x"]);
    }

    #[test]
    fn byte_at_a_time_is_the_same_as_all_at_once() {
        let text = b"one\r\ntwo\rTWO\nthree\n";
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(split(&chunks), split(&[text]));
    }

    proptest::proptest! {
        /// Any output, cut anywhere: the same lines as in one piece, none past `MAX_LINE`.
        #[test]
        fn any_output_cut_anywhere_splits_the_same(
            text in proptest::collection::vec(
                proptest::prop_oneof![proptest::num::u8::ANY, proptest::strategy::Just(b'\n'), proptest::strategy::Just(b'\r')],
                0..1024,
            ),
            cuts in proptest::collection::vec(0usize..1024, 0..16),
        ) {
            let mut at: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for c in at {
                chunks.push(&text[from..c]);
                from = c;
            }
            chunks.push(&text[from..]);
            let whole = split(&[&text]);
            proptest::prop_assert_eq!(split(&chunks), whole.clone());
            for l in whole.0.iter().chain(whole.1.iter()) {
                proptest::prop_assert!(l.len() <= MAX_LINE + 64, "a line of {} bytes", l.len());
            }
        }
    }
}
