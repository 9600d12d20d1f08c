//! Grouped horizontal bar charts as inline SVG: an axis with ticks and its
//! unit, a label per group, a value at the end of each bar, and a legend.

use super::layout::esc;

/// One series of a chart: its name, colour and a value per group (`None`: no data).
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub values: Vec<Option<f64>>,
}

// A chart is drawn 400 units wide and scaled to its frame: at 390 px (about
// 340 px of frame) a 12-unit label renders at 10 px.
const WIDTH: f64 = 400.0;
const FONT: f64 = 12.0;
const LABEL_W: f64 = 88.0;
const RIGHT_PAD: f64 = 64.0;
const BAR_H: f64 = 16.0;
const GROUP_GAP: f64 = 12.0;
const TOP: f64 = 26.0;
const AXIS_H: f64 = 40.0;

/// A chart of `groups` (one row of bars each) with an x axis in `unit`;
/// `format` prints a value (bar ends and ticks).
pub fn bars(title: &str, unit: &str, groups: &[String], series: &[Series], format: fn(f64) -> String) -> String {
    let max = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |m, v| m.max(*v));
    let (scale_max, ticks) = axis(max);
    let plot_w = WIDTH - LABEL_W - RIGHT_PAD;
    let group_h = BAR_H * series.len() as f64 + GROUP_GAP;
    let height = TOP + group_h * groups.len() as f64 + AXIS_H;
    let x = |v: f64| LABEL_W + plot_w * (v / scale_max);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"{FONT}\" font-family=\"system-ui,sans-serif\">",
        esc(title)
    );
    // Legend.
    let mut lx = LABEL_W;
    for s in series {
        svg.push_str(&format!(
            "<rect x=\"{lx}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"13\">{}</text>",
            s.colour,
            lx + 14.0,
            esc(s.name)
        ));
        lx += 24.0 + 0.62 * FONT * s.name.len() as f64;
    }
    // Grid and ticks.
    let axis_y = TOP + group_h * groups.len() as f64;
    // Every tick gets a grid line; labels too wide for the space between ticks go on every other one.
    let widest = (0..=ticks).map(|i| format(scale_max * f64::from(i) / f64::from(ticks)).len()).max().unwrap_or(1);
    let label_every = if 0.62 * FONT * widest as f64 > 0.9 * plot_w / f64::from(ticks) { 2 } else { 1 };
    for i in 0..=ticks {
        let v = scale_max * f64::from(i) / f64::from(ticks);
        let tx = x(v);
        svg.push_str(&format!("<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{axis_y}\" stroke=\"#e3e6ec\"/>"));
        if i % label_every == 0 {
            svg.push_str(&format!(
                "<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#4a5263\">{}</text>",
                axis_y + 14.0,
                esc(&format(v))
            ));
        }
    }
    svg.push_str(&format!(
        "<line x1=\"{LABEL_W}\" y1=\"{axis_y}\" x2=\"{:.1}\" y2=\"{axis_y}\" stroke=\"#8a93a5\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#4a5263\">{}</text>",
        LABEL_W + plot_w,
        LABEL_W + plot_w / 2.0,
        axis_y + 32.0,
        esc(unit)
    ));
    // Bars.
    for (g, group) in groups.iter().enumerate() {
        let gy = TOP + group_h * g as f64 + GROUP_GAP / 2.0;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 6.0,
            gy + BAR_H * series.len() as f64 / 2.0 + 4.0,
            esc(group)
        ));
        for (i, s) in series.iter().enumerate() {
            let y = gy + BAR_H * i as f64;
            match s.values.get(g).copied().flatten() {
                Some(v) => svg.push_str(&format!(
                    "<rect x=\"{LABEL_W}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
                     <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    (x(v) - LABEL_W).max(0.5),
                    BAR_H - 2.0,
                    s.colour,
                    esc(s.name),
                    esc(&format(v)),
                    x(v) + 4.0,
                    y + BAR_H - 4.0,
                    esc(&format(v))
                )),
                None => svg.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a93a5\">no {} runs</text>",
                    LABEL_W + 4.0,
                    y + BAR_H - 4.0,
                    esc(s.name)
                )),
            }
        }
    }
    svg.push_str("</svg>");
    format!("<figure><figcaption>{}</figcaption>{svg}</figure>", esc(title))
}

/// The axis for values up to `v`: the smallest 1, 2 or 5 × 10^k at or
/// above it (1 for nothing), and a tick count that puts every tick on a
/// round number (a step of 1, 2 or 5 × 10^j).
fn axis(v: f64) -> (f64, u32) {
    if v <= 0.0 || !v.is_finite() {
        return (1.0, 5);
    }
    let magnitude = 10f64.powf(v.log10().floor());
    let (mantissa, ticks) =
        [(1.0, 5), (2.0, 4), (5.0, 5), (10.0, 5)].into_iter().find(|(m, _)| m * magnitude >= v).unwrap_or((10.0, 5));
    (mantissa * magnitude, ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_readable_bounds_and_ticks() {
        assert_eq!(axis(0.0), (1.0, 5));
        assert_eq!(axis(3.2), (5.0, 5));
        assert_eq!(axis(180.0), (200.0, 4));
        assert_eq!(axis(0.0031), (0.005, 5));
        assert_eq!(axis(999.0), (1000.0, 5));
    }

    #[test]
    fn a_chart_has_its_axis_unit_labels_and_values() {
        let series = [
            Series { name: "orchestrated", colour: "#2f6fde", values: vec![Some(120.0), None] },
            Series { name: "normal", colour: "#9aa4b5", values: vec![Some(400.0), Some(80.0)] },
        ];
        let svg =
            bars("Tokens per step", "tokens per step", &["all".into(), "<x>".into()], &series, |v| format!("{v:.0}"));
        for needle in ["tokens per step", ">all<", "&lt;x&gt;", ">120<", ">400<", "no orchestrated runs", ">500<"] {
            assert!(svg.contains(needle), "{needle} missing from {svg}");
        }
    }
}
