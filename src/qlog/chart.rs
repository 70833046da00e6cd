//! The weekly figures as a PNG: answered and refused questions stacked per week, votes up and
//! down as lines, drawn with a font built into the binary (DejaVu Sans, assets/fonts/).

use std::sync::OnceLock;

use anyhow::Context;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::Stats;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 480;
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn font_ready() -> anyhow::Result<()> {
    static READY: OnceLock<bool> = OnceLock::new();
    let ok = *READY.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    anyhow::ensure!(ok, "the built-in chart font cannot be read");
    Ok(())
}

/// A PNG chart of `stats`.
pub fn chart_png(stats: &Stats) -> anyhow::Result<Vec<u8>> {
    font_ready()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(stats, &mut rgb).map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().context("cannot write the PNG")?;
        writer
            .write_image_data(&rgb)
            .context("cannot write the PNG")?;
    }
    Ok(png)
}

fn draw(stats: &Stats, rgb: &mut [u8]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let weeks = stats.weeks.len().max(1);
    let top = stats
        .weeks
        .iter()
        .map(|w| w.questions.max(w.thumbs_up).max(w.thumbs_down))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption("Questions per week", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(
            -0.5f64..weeks as f64 - 0.5,
            0f64..(top as f64 * 1.15).ceil(),
        )?;
    let names: Vec<String> = stats.weeks.iter().map(|w| w.week.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(weeks.min(12))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() > 0.01 || *x < 0.0 {
                return String::new();
            }
            names
                .get(x.round() as usize)
                .map(|n| n.split_once('-').map_or(n.as_str(), |(_, w)| w).to_string())
                .unwrap_or_default()
        })
        .y_desc("questions")
        .label_style(("sans-serif", 14))
        .draw()?;
    let answered = RGBColor(46, 125, 50);
    let refused = RGBColor(198, 40, 40);
    // Week i is centred on x = i.
    let x = |i: usize, at: f64| i as f64 + at - 0.5;
    chart
        .draw_series(stats.weeks.iter().enumerate().map(|(i, w)| {
            Rectangle::new(
                [(x(i, 0.15), 0.0), (x(i, 0.85), w.answered as f64)],
                answered.filled(),
            )
        }))?
        .label("answered")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], answered.filled()));
    chart
        .draw_series(stats.weeks.iter().enumerate().map(|(i, w)| {
            Rectangle::new(
                [
                    (x(i, 0.15), w.answered as f64),
                    (x(i, 0.85), (w.answered + w.refused) as f64),
                ],
                refused.filled(),
            )
        }))?
        .label("refused")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], refused.filled()));
    let up = RGBColor(21, 101, 192);
    let down = RGBColor(239, 108, 0);
    chart
        .draw_series(LineSeries::new(
            stats
                .weeks
                .iter()
                .enumerate()
                .map(|(i, w)| (x(i, 0.5), w.thumbs_up as f64)),
            up.stroke_width(2),
        ))?
        .label("thumbs up")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], up.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            stats
                .weeks
                .iter()
                .enumerate()
                .map(|(i, w)| (x(i, 0.5), w.thumbs_down as f64)),
            down.stroke_width(2),
        ))?
        .label("thumbs down")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], down.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}
