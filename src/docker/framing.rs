//! Per-message limits on engine streams, checked on the raw bytes of the connection: the HTTP
//! head, then the body (de-chunked), then the stream's messages. bollard's decoders buffer a
//! message until it is complete (a JSON line until its newline, a log frame until the length in
//! its header), so one endless message would otherwise grow without limit.

use crate::bounded::Overrun;

/// How a stream's body splits into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messages {
    /// JSON lines: events, stats, pull progress.
    Lines,
    /// Multiplexed frames (8-byte header with the length); a TTY's raw output instead when
    /// `raw_lines`, which bollard buffers up to each newline (logs), else passes on as it comes
    /// (attach, exec).
    Frames { raw_lines: bool },
}

/// An HTTP head is refused past this (hyper's own limit is about as large).
const MAX_HEAD: usize = 64 << 10;

#[derive(Debug)]
enum Body {
    Head(Vec<u8>),
    Plain,
    Chunked(Chunk),
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    Size { size: u64, digits: u8 },
    Ext { size: u64 },
    Data(u64),
    DataEnd,
    Trailers,
}

#[derive(Debug, Clone, Copy)]
enum Msg {
    Line(usize),
    Head { got: u8, len: [u8; 4] },
    Payload(u64),
    RawPassThrough,
}

/// Scans one response of a stream request.
#[derive(Debug)]
pub struct Scanner {
    what: String,
    limit: usize,
    kind: Messages,
    body: Body,
    msg: Msg,
}

impl Scanner {
    pub fn new(what: impl Into<String>, kind: Messages, limit: usize) -> Scanner {
        let msg = match kind {
            Messages::Lines => Msg::Line(0),
            Messages::Frames { .. } => Msg::Head { got: 0, len: [0; 4] },
        };
        Scanner { what: what.into(), limit, kind, body: Body::Head(Vec::new()), msg }
    }

    /// Bytes as they arrive on the connection.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Overrun> {
        while !bytes.is_empty() {
            match &mut self.body {
                Body::Head(head) => {
                    let before = head.len();
                    head.extend_from_slice(bytes);
                    match find(head, b"\r\n\r\n") {
                        Some(end) => {
                            let chunked = is_chunked(&head[..end]);
                            let used = end + 4 - before;
                            bytes = &bytes[used..];
                            self.body = if chunked {
                                Body::Chunked(Chunk::Size { size: 0, digits: 0 })
                            } else {
                                Body::Plain
                            };
                        }
                        None if head.len() > MAX_HEAD => return Err(self.too_big(MAX_HEAD)),
                        None => return Ok(()),
                    }
                }
                Body::Plain => return self.payload(bytes),
                Body::Chunked(state) => {
                    let (used, data) = step_chunk(state, bytes);
                    if let Some(data) = data {
                        self.payload(data)?;
                    }
                    bytes = &bytes[used..];
                }
            }
        }
        Ok(())
    }

    fn too_big(&self, limit: usize) -> Overrun {
        Overrun::MessageTooBig { what: self.what.clone(), limit }
    }

    fn payload(&mut self, mut data: &[u8]) -> Result<(), Overrun> {
        while !data.is_empty() {
            match &mut self.msg {
                Msg::Line(since) => {
                    let mut parts = data.split(|b| *b == b'\n');
                    let first = parts.next().map_or(0, <[u8]>::len);
                    let mut longest = *since + first;
                    *since += first;
                    for part in parts {
                        longest = longest.max(part.len());
                        *since = part.len();
                    }
                    if longest > self.limit {
                        return Err(self.too_big(self.limit));
                    }
                    return Ok(());
                }
                Msg::Head { got, len } => {
                    if *got == 0 && data[0] > 2 {
                        // No stream-type byte: a TTY's raw output.
                        self.msg = match self.kind {
                            Messages::Frames { raw_lines: true } => Msg::Line(0),
                            _ => Msg::RawPassThrough,
                        };
                        continue;
                    }
                    if (4..8).contains(got) {
                        len[usize::from(*got) - 4] = data[0];
                    }
                    *got += 1;
                    data = &data[1..];
                    if *got == 8 {
                        let n = u32::from_be_bytes(*len);
                        if n as usize > self.limit {
                            return Err(self.too_big(self.limit));
                        }
                        self.msg = Msg::Payload(u64::from(n));
                    }
                }
                Msg::Payload(left) => {
                    let n = (*left).min(data.len() as u64);
                    *left -= n;
                    data = &data[n as usize..];
                    if *left == 0 {
                        self.msg = Msg::Head { got: 0, len: [0; 4] };
                    }
                }
                Msg::RawPassThrough => return Ok(()),
            }
        }
        Ok(())
    }
}

/// One step of chunked transfer decoding: bytes used, and the chunk data among them.
fn step_chunk<'a>(state: &mut Chunk, bytes: &'a [u8]) -> (usize, Option<&'a [u8]>) {
    match *state {
        Chunk::Size { size, digits } => {
            let b = bytes[0];
            match (b as char).to_digit(16) {
                // Past 15 hex digits the size is nonsense; the engine's own client would refuse
                // it too. Saturate: the message limit catches the rest.
                Some(d) => {
                    let size = if digits >= 15 { u64::MAX >> 4 } else { size * 16 + u64::from(d) };
                    *state = Chunk::Size { size, digits: digits.saturating_add(1) };
                }
                None if b == b'\n' => *state = if size == 0 { Chunk::Trailers } else { Chunk::Data(size) },
                None => *state = Chunk::Ext { size },
            }
            (1, None)
        }
        Chunk::Ext { size } => match bytes.iter().position(|b| *b == b'\n') {
            Some(i) => {
                *state = if size == 0 { Chunk::Trailers } else { Chunk::Data(size) };
                (i + 1, None)
            }
            None => (bytes.len(), None),
        },
        Chunk::Data(left) => {
            let n = left.min(bytes.len() as u64) as usize;
            *state = if left == n as u64 { Chunk::DataEnd } else { Chunk::Data(left - n as u64) };
            (n, Some(&bytes[..n]))
        }
        Chunk::DataEnd => match bytes.iter().position(|b| *b == b'\n') {
            Some(i) => {
                *state = Chunk::Size { size: 0, digits: 0 };
                (i + 1, None)
            }
            None => (bytes.len(), None),
        },
        Chunk::Trailers => (bytes.len(), None),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_chunked(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().skip(1).any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn chunk(data: &[u8]) -> Vec<u8> {
        let mut v = format!("{:x}\r\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b"\r\n");
        v
    }

    #[test]
    fn json_lines_pass_until_one_line_is_too_long() {
        let mut s = Scanner::new("GET /events", Messages::Lines, 16);
        s.feed(CHUNKED).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..100 {
            s.feed(&chunk(b"{\"a\":1}\n{\"b\":")).unwrap_or_else(|e| panic!("{e}"));
        }
        // One byte per chunk: the chunk framing's newlines are not the message's.
        let mut r = Ok(());
        for _ in 0..20 {
            r = r.and_then(|()| s.feed(&chunk(b"x")));
        }
        assert!(
            matches!(r, Err(Overrun::MessageTooBig { ref what, limit: 16 }) if what == "GET /events"),
            "{r:?}"
        );
    }

    #[test]
    fn log_frames_are_checked_by_their_header() {
        let frame = |len: u32| {
            let mut v = vec![1, 0, 0, 0];
            v.extend_from_slice(&len.to_be_bytes());
            v
        };
        let mut s = Scanner::new("GET /containers/x/logs", Messages::Frames { raw_lines: true }, 64);
        s.feed(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ok = frame(5);
        ok.extend_from_slice(b"hello");
        for b in ok.chunks(3) {
            s.feed(b).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(matches!(s.feed(&frame(65)), Err(Overrun::MessageTooBig { .. })));
    }

    #[test]
    fn raw_output_is_lines_for_logs_and_free_for_a_shell() {
        let head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\n\r\n";
        let mut shell = Scanner::new("POST /exec/x/start", Messages::Frames { raw_lines: false }, 8);
        shell.feed(head).unwrap_or_else(|e| panic!("{e}"));
        shell.feed(&[b'x'; 100]).unwrap_or_else(|e| panic!("{e}"));
        let mut logs = Scanner::new("GET /containers/x/logs", Messages::Frames { raw_lines: true }, 8);
        logs.feed(b"HTTP/1.1 200 OK\r\n\r\n").unwrap_or_else(|e| panic!("{e}"));
        logs.feed(b"abc\ndef\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(logs.feed(&[b'x'; 9]).is_err());
    }

    #[test]
    fn an_endless_head_is_refused() {
        let mut s = Scanner::new("GET /events", Messages::Lines, 16);
        let r = (0..100).try_for_each(|_| s.feed(&[b'h'; 1024]));
        assert!(r.is_err());
    }
}
