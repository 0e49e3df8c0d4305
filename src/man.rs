//! `gpudock man`: one page, gpudock(1), that holds everything — the options, each subcommand
//! with its options, every view's keys as the default keymap binds them, and the default
//! configuration. No page per subcommand is shipped, so none is named.

use std::io::Write;

use clap::CommandFactory;

use crate::app::view::Scope;
use crate::cli::Cli;
use crate::config::Config;

/// Text made safe for roff: a backslash or a minus as themselves, no line read as a request.
fn esc(text: &str) -> String {
    let s = text.replace('\\', "\\e").replace('-', "\\-");
    s.lines()
        .map(|l| if l.starts_with('.') || l.starts_with('\'') { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    writeln!(out, ".SH SUBCOMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        writeln!(out, ".TP\n\\fBgpudock {}\\fR", esc(sub.get_name()))?;
        let about = sub.get_long_about().or(sub.get_about()).map(|a| a.to_string()).unwrap_or_default();
        writeln!(out, "{}", esc(&about))?;
        let flags: Vec<String> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter_map(|a| a.get_long().map(|l| format!("\\-\\-{}", esc(l))))
            .collect();
        if !flags.is_empty() {
            writeln!(
                out,
                ".br\nOptions: {} (gpudock {} \\-\\-help says more).",
                flags.join(", "),
                esc(sub.get_name())
            )?;
        }
    }
    let keymap = Config::default().keymap;
    writeln!(out, ".SH KEYS")?;
    writeln!(out, "The default keys of each view; the [keys] table of the configuration remaps them.")?;
    for scope in Scope::ALL {
        writeln!(out, ".SS {}", esc(scope.title()))?;
        for key in scope.keys() {
            writeln!(out, ".TP\n\\fB{}\\fR\n{}", esc(&keymap.label(key.action)), esc(key.help))?;
        }
    }
    writeln!(out, ".SH CONFIGURATION")?;
    writeln!(
        out,
        "{}",
        esc(
            "The configuration is read from $XDG_CONFIG_HOME/gpudock/config.toml (~/.config/gpudock/config.toml), \
             or the file --config names. Every setting, with its default:"
        )
    )?;
    writeln!(out, ".PP\n.nf")?;
    writeln!(out, "{}", esc(crate::config::DEFAULTS))?;
    writeln!(out, ".fi")?;
    man.render_version_section(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        let mut out = Vec::new();
        render(&mut out).unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn the_page_names_no_page_that_does_not_exist_and_holds_keys_and_config() {
        let page = page();
        // clap_mangen's subcommand list points at gpudock-run(1) and the like, never shipped.
        assert!(!page.contains("gpudock\\-run(1)") && !page.contains("(1)\n"), "{page}");
        assert!(page.contains(".SH SUBCOMMANDS") && page.contains("\\fBgpudock run\\fR"), "{page}");
        assert!(page.contains(".SH KEYS") && page.contains(".SS Alert list"), "{page}");
        assert!(page.contains(".SH CONFIGURATION") && page.contains("stop_timeout_seconds = 10"), "{page}");
    }
}
