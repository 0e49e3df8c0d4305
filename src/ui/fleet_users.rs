//! The fleet's Users view (`U`): every owner across the nodes, from `gpudock export`'s
//! per-owner series, most GPU memory first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::theme::Styles;
use crate::app::fleet::FleetState;

pub fn draw(f: &mut Frame, area: Rect, s: &FleetState, st: &Styles) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(st.border(true))
        .title(" Users across the fleet ");
    let Some(rows) = s.users.as_ref() else {
        f.render_widget(Paragraph::new("asking Prometheus…").style(st.dim()).block(block), area);
        return;
    };
    if rows.is_empty() {
        let text = "No owner: no node's gpudock export reports containers or GPU processes.";
        f.render_widget(Paragraph::new(text).style(st.dim()).block(block), area);
        return;
    }
    let wide = area.width >= 80;
    let mut titles = vec!["OWNER", "GPUS", "GPU MEM"];
    let mut widths = vec![Constraint::Min(10), Constraint::Length(5), Constraint::Length(8)];
    if wide {
        titles.extend(["SM%", "IDLE-HELD", "CONTAINERS", "NODES"]);
        widths.extend([
            Constraint::Length(4),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(5),
        ]);
    }
    let body = rows.iter().map(|r| {
        let owner = if r.owner.is_empty() { "- (unknown)".to_string() } else { r.owner.clone() };
        let mut cells = vec![owner, r.gpus_held.to_string(), super::fleet::gib(r.mem_used)];
        if wide {
            let idle = if r.idle_mem > 0.0 { super::fleet::gib(r.idle_mem) } else { "-".into() };
            cells.extend([
                r.sm_percent.map_or("n/a".into(), |p| format!("{p:.0}")),
                idle,
                r.containers.to_string(),
                r.nodes.to_string(),
            ]);
        }
        Row::new(cells)
    });
    let table = Table::new(body, widths)
        .header(Row::new(titles).style(st.header_row()))
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
}
