//! The prune preview's keys: its names scroll, and `y` prunes only once the user could see at
//! least one of the names that go.

use super::view::ViewKey;
use super::{Confirm, Level, Outcome, Shows};
use crate::config::Action;

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::Confirm, "yes, prune exactly the names listed (once at least one shows)")
        .hint(&[Action::Confirm], "prune"),
    ViewKey::new(Action::Down, "scroll the names down").hint(&[Action::Down, Action::Up], "scroll"),
    ViewKey::new(Action::Up, "scroll the names up"),
    ViewKey::new(Action::PageDown, "next page of names").hint(&[Action::PageDown, Action::PageUp], "page"),
    ViewKey::new(Action::PageUp, "previous page of names"),
];

/// A key while the preview waits: scroll keys scroll, `y` prunes, any other key cancels.
/// `fits`: names the last frame had room for.
pub fn key(c: &mut Confirm, action: Option<Action>, fits: usize) -> Outcome {
    let Shows::Prune { items, scroll, .. } = &mut c.shows else {
        return super::actions::confirm_key(c, action);
    };
    let n = items.as_ref().map_or(0, Vec::len);
    let last = n.saturating_sub(fits);
    let page = fits.max(1);
    match action {
        Some(Action::Down) => *scroll = (*scroll + 1).min(last),
        Some(Action::Up) => *scroll = scroll.saturating_sub(1),
        Some(Action::PageDown) => *scroll = (*scroll + page).min(last),
        Some(Action::PageUp) => *scroll = scroll.saturating_sub(page),
        // A yes to a list nobody could read is not a yes: the names are what the question is.
        Some(Action::Confirm) if n > 0 && fits == 0 && c.refused.is_none() => {
            return Outcome::stay().say(
                Level::Error,
                "not pruned: no name of what goes fits on this screen; enlarge the terminal to see them",
            );
        }
        _ => return super::actions::confirm_key(c, action),
    }
    Outcome::stay()
}
