//! Pull progress on stderr: one redrawn bar when stderr is a terminal, plain lines (one per
//! change of status) when it is a file or a pipe, so a CI log stays readable.

use std::io::{IsTerminal, Write};

use crate::docker::launch::PullProgress;

pub struct Printer {
    tty: bool,
    last: String,
    drew: bool,
}

const BAR: usize = 30;

/// `[#####-----] 1.2 GB / 4.0 GB` or the status alone while sizes are unknown.
pub fn bar_line(p: &PullProgress) -> String {
    let image = crate::sanitize::line(&p.image);
    let status = crate::sanitize::line(&p.status);
    if p.total == 0 {
        return format!("pulling {image}: {status}");
    }
    let filled = ((p.done.min(p.total) as u128 * BAR as u128) / p.total as u128) as usize;
    let size = |b: u64| humansize::format_size(b, humansize::DECIMAL);
    format!(
        "pulling {image} [{}{}] {} / {}",
        "#".repeat(filled),
        "-".repeat(BAR - filled),
        size(p.done),
        size(p.total)
    )
}

impl Printer {
    pub fn new() -> Printer {
        Printer { tty: std::io::stderr().is_terminal(), last: String::new(), drew: false }
    }

    pub fn show(&mut self, p: &PullProgress) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            // Clear the line and redraw it in place.
            let _ = write!(err, "\r\x1b[2K{}", bar_line(p));
            self.drew = true;
        } else if p.status != self.last {
            let _ = writeln!(
                err,
                "gpudock: pulling {}: {}",
                crate::sanitize::line(&p.image),
                crate::sanitize::line(&p.status)
            );
            self.last = p.status.clone();
        }
        let _ = err.flush();
    }

    pub fn finish(&mut self) {
        if self.drew {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_bytes() {
        let p = |done, total| PullProgress { image: "x:1".into(), done, total, status: "Downloading".into() };
        assert_eq!(bar_line(&p(0, 0)), "pulling x:1: Downloading");
        let half = bar_line(&p(500, 1000));
        assert!(half.contains(&format!("[{}{}]", "#".repeat(15), "-".repeat(15))), "{half}");
        assert!(bar_line(&p(2000, 1000)).contains(&"#".repeat(30)), "never past full");
    }
}
