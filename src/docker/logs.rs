//! Following a container's output: lines batched so a chatty container costs one message per
//! batch, not per line.

use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
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

/// Follows the log of `id` from `tail` lines back until the stream ends (the container
/// stopped) or fails; returns the failure.
pub async fn follow<M: From<LogChunk>>(
    docker: &Docker,
    tx: &Sender<M>,
    id: &ContainerId,
    tail: usize,
) -> Option<EngineError> {
    let opts =
        LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).tail(&tail.to_string()).build();
    let mut stream = docker.logs(id.as_str(), Some(opts));
    let mut batch: Vec<LogLine> = Vec::new();
    let mut partial: [String; 2] = [String::new(), String::new()];
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
                use bollard::container::LogOutput;
                let (stderr, bytes) = match out {
                    LogOutput::StdErr { message } => (true, message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => (false, message),
                    LogOutput::StdIn { .. } => continue,
                };
                let buf = &mut partial[usize::from(stderr)];
                buf.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(i) = buf.find('\n') {
                    let text: String = buf.drain(..=i).collect();
                    batch.push(LogLine { stderr, text: text.trim_end_matches(['\n', '\r']).to_string() });
                }
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
    for (stderr, rest) in [(false, &partial[0]), (true, &partial[1])] {
        if !rest.is_empty() {
            batch.push(LogLine { stderr, text: rest.clone() });
        }
    }
    if !batch.is_empty() {
        let _ = send(batch).await;
    }
    failure
}
