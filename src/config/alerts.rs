//! `[alerts]` and `idle_gpu_after`: what is worth interrupting the user for on a GPU node.

use std::time::Duration;

use serde::Deserialize;

/// `[alerts]` as written: every field optional, merged field by field over the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsFile {
    temperature_c: Option<u32>,
    memory_percent: Option<f64>,
    xid: Option<bool>,
    ecc_uncorrected: Option<bool>,
    idle_held: Option<bool>,
    bell: Option<bool>,
}

/// When an alert is raised. A condition that stays true raises one alert, not one per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerts {
    /// GPU temperature at or above this (°C); 0 turns it off.
    pub temperature_c: u32,
    /// GPU memory use at or above this share (%); 0 turns it off.
    pub memory_percent: f64,
    pub xid: bool,
    pub ecc_uncorrected: bool,
    /// A container or host process held GPU memory at 0 % SM for `idle_gpu_after`.
    pub idle_held: bool,
    /// Ring the terminal bell with each new alert.
    pub bell: bool,
}

impl AlertsFile {
    pub(super) fn merge(user: Option<AlertsFile>, defaults: Option<AlertsFile>) -> Result<Alerts, String> {
        let (u, d) = (user.unwrap_or_default(), defaults.unwrap_or_default());
        let alerts = Alerts {
            temperature_c: u.temperature_c.or(d.temperature_c).unwrap_or(85),
            memory_percent: u.memory_percent.or(d.memory_percent).unwrap_or(95.0),
            xid: u.xid.or(d.xid).unwrap_or(true),
            ecc_uncorrected: u.ecc_uncorrected.or(d.ecc_uncorrected).unwrap_or(true),
            idle_held: u.idle_held.or(d.idle_held).unwrap_or(true),
            bell: u.bell.or(d.bell).unwrap_or(false),
        };
        if alerts.temperature_c > 150 {
            return Err(format!(
                "[alerts] temperature_c = {}: must be between 0 and 150",
                alerts.temperature_c
            ));
        }
        if !(0.0..=100.0).contains(&alerts.memory_percent) {
            return Err(format!(
                "[alerts] memory_percent = {}: must be between 0 and 100",
                alerts.memory_percent
            ));
        }
        Ok(alerts)
    }
}

/// `idle_gpu_after`: "30m", "5s", "1h 30m".
pub(super) fn idle_after(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("idle_gpu_after = {text:?}: {e} (write it like \"30m\", \"5s\" or \"2h\")"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("idle_gpu_after = {text:?}: must be at least 1s"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_after_takes_human_durations_and_refuses_nonsense() {
        assert_eq!(idle_after("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(idle_after("30m"), Ok(Duration::from_secs(1800)));
        assert!(idle_after("soon").unwrap_err().contains("\"30m\""));
        assert!(idle_after("0s").is_err());
    }
}
