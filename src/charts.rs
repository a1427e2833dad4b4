//! Charts of the reports, drawn with plotters: a PNG for chat (Discord
//! shows it under the report's text) and SVG for the web view. The
//! numbers come from the report's outcome; nothing is read again.
//!
//! One shape serves every report: groups along the bottom (months, owners,
//! stages, reasons...), one bar per series in each group (estimated and
//! weighted, won and lost, won and invoiced...). The team total row is
//! left out: it would dwarf the groups.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::command::report::Done;

/// A chart of one report: its title, its groups and its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub groups: Vec<String>,
    /// Each series: its name and one value per group.
    pub series: Vec<(String, Vec<f64>)>,
    /// Whether the values are money (in `currency`) or counts.
    pub currency: Option<String>,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x5f, 0xa8),
    RGBColor(0xe0, 0x8a, 0x1e),
    RGBColor(0x4c, 0x9a, 0x5a),
];

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

impl Chart {
    /// The chart of a report (`None` when it has nothing to show).
    pub fn of(done: &Done, currency: &str) -> Option<Chart> {
        let money = Some(currency.to_string());
        let chart = match done {
            Done::Pipeline { rows, owner, .. } => Chart {
                title: format!("Pipeline of {}", owner.as_deref().unwrap_or("the team")),
                groups: rows.iter().map(|r| r.group.clone()).collect(),
                series: vec![
                    (
                        "estimated".into(),
                        rows.iter().map(|r| f(r.amount)).collect(),
                    ),
                    (
                        "weighted".into(),
                        rows.iter().map(|r| f(r.weighted)).collect(),
                    ),
                ],
                currency: money,
            },
            Done::WonLost { rows, .. } => Chart {
                title: "Won and lost".into(),
                groups: rows.iter().map(|r| r.group.clone()).collect(),
                series: vec![
                    ("won".into(), rows.iter().map(|r| f(r.won_amount)).collect()),
                    (
                        "lost".into(),
                        rows.iter().map(|r| f(r.lost_amount)).collect(),
                    ),
                ],
                currency: money,
            },
            Done::Revenue { rows, by, .. } => Chart {
                title: format!("Revenue by {}", by.name()),
                groups: rows.iter().map(|r| r.group.clone()).collect(),
                series: vec![
                    ("won".into(), rows.iter().map(|r| f(r.won)).collect()),
                    (
                        "invoiced (net)".into(),
                        rows.iter().map(|r| f(r.invoiced)).collect(),
                    ),
                    ("paid".into(), rows.iter().map(|r| f(r.paid)).collect()),
                ],
                currency: money,
            },
            Done::Aging { rows, .. } => Chart {
                title: "Unpaid invoices by days overdue".into(),
                groups: rows.iter().map(|r| r.group.clone()).collect(),
                series: vec![("open".into(), rows.iter().map(|r| f(r.amount)).collect())],
                currency: money,
            },
            Done::Funnel(funnel) => Chart {
                title: "Funnel".into(),
                groups: vec![
                    "leads".into(),
                    "qualified".into(),
                    "opportunities".into(),
                    "won".into(),
                ],
                series: vec![(
                    "count".into(),
                    [
                        funnel.leads,
                        funnel.qualified,
                        funnel.opportunities,
                        funnel.won,
                    ]
                    .iter()
                    .map(|n| *n as f64)
                    .collect(),
                )],
                currency: None,
            },
        };
        (!chart.groups.is_empty()).then_some(chart)
    }

    /// The chart as SVG, for a web page.
    ///
    /// Fails when it cannot be drawn.
    pub fn svg(&self) -> Result<String, String> {
        fonts();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root).map_err(|e| format!("the chart: {e}"))?;
            root.present().map_err(|e| format!("the chart: {e}"))?;
        }
        Ok(out)
    }

    /// The chart as a PNG image, for chat.
    ///
    /// Fails when it cannot be drawn or encoded.
    pub fn png(&self) -> Result<Vec<u8>, String> {
        fonts();
        let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root).map_err(|e| format!("the chart: {e}"))?;
            root.present().map_err(|e| format!("the chart: {e}"))?;
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(&pixels))
            .map_err(|e| format!("the chart's image: {e}"))?;
        Ok(out)
    }

    /// A value as the axis shows it: `12k`, `1.5M`.
    fn short(&self, v: f64) -> String {
        let (n, unit) = match v.abs() {
            a if a >= 1e6 => (v / 1e6, "M"),
            a if a >= 1e3 => (v / 1e3, "k"),
            _ => (v, ""),
        };
        let n = if n.fract().abs() < 1e-9 {
            format!("{n:.0}")
        } else {
            format!("{n:.1}")
        };
        match &self.currency {
            Some(c) => format!("{n}{unit} {c}"),
            None => format!("{n}{unit}"),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let groups = self.groups.len().max(1);
        let max = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .fold(0.0f64, f64::max);
        let top = if max > 0.0 { max * 1.12 } else { 1.0 };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(96)
            .build_cartesian_2d(0f64..groups as f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(6)
            .y_label_formatter(&|v| self.short(*v))
            .label_style(("sans-serif", 14))
            .draw()?;
        let k = self.series.len().max(1) as f64;
        let width = 0.8 / k;
        for (s, (name, values)) in self.series.iter().enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            chart
                .draw_series(values.iter().enumerate().map(|(g, v)| {
                    let left = g as f64 + 0.1 + s as f64 * width;
                    Rectangle::new([(left, 0.0), (left + width * 0.92, *v)], colour.filled())
                }))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 14))
            .draw()?;
        // The groups' names under their bars, shortened to fit.
        let room = (WIDTH as usize / groups / 8).clamp(3, 24);
        let style = TextStyle::from(("sans-serif", 14).into_font())
            .pos(Pos::new(HPos::Center, VPos::Top))
            .color(&BLACK);
        for (g, name) in self.groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
            let label: String = if name.chars().count() > room {
                let mut s: String = name.chars().take(room - 1).collect();
                s.push('…');
                s
            } else {
                name.clone()
            };
            root.draw(&Text::new(label, (x, y + 8), style.clone()))?;
        }
        Ok(())
    }
}

/// Registers the fonts the PNG is drawn with (Lato, as the documents), once.
fn fonts() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let regular: &'static [u8] = include_bytes!("../assets/fonts/Lato-Regular.ttf");
        if plotters::style::register_font("sans-serif", FontStyle::Normal, regular).is_err() {
            tracing::warn!("charts: the embedded font does not load; labels are left out");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "Pipeline".into(),
            groups: vec!["2027-01".into(), "2027-02".into()],
            series: vec![
                ("estimated".into(), vec![10300.0, 4000.0]),
                ("weighted".into(), vec![5000.0, 1000.0]),
            ],
            currency: Some("EUR".into()),
        }
    }

    #[test]
    fn the_png_is_an_image_of_the_chart_size() {
        let png = chart().png().expect("png");
        if let Some(dir) = std::env::var_os("LEADLINE_CHART_OUT") {
            std::fs::write(std::path::Path::new(&dir).join("chart.png"), &png).expect("write");
        }
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().expect("a png");
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
    }

    #[test]
    fn the_svg_has_the_groups_series_and_title() {
        let svg = chart().svg().expect("svg");
        for text in [
            "Pipeline",
            "2027-01",
            "2027-02",
            "estimated",
            "weighted",
            "10k EUR",
        ] {
            assert!(svg.contains(text), "{text} missing from the chart");
        }
        // One bar per series and group.
        assert!(svg.matches("<rect").count() >= 4);
    }

    #[test]
    fn values_read_short_on_the_axis() {
        let c = chart();
        assert_eq!(c.short(12_000.0), "12k EUR");
        assert_eq!(c.short(1_500_000.0), "1.5M EUR");
        assert_eq!(c.short(40.0), "40 EUR");
    }
}
