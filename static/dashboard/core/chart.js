// A small time-series line chart on a canvas: a left and (when a series uses it) a right value axis, and
// time on the x axis (by default minutes back from `to`). Gaps in the samples break the lines rather than
// bridging them.

const PAD = { left: 44, right: 44, top: 10, bottom: 22 };
const GRID = "#d7dbe2";
const INK = "#4b5563";

function niceMax(value, floor) {
  const top = Math.max(value * 1.1, floor);
  const step = 10 ** Math.floor(Math.log10(top));
  return Math.ceil(top / step) * step;
}

function axisLabel(value) {
  return value >= 100 ? value.toFixed(0) : Number(value.toPrecision(2)).toString();
}

/** Every other minute back from `to`: the x ticks of a chart of the last minutes. */
export function minutesBack(from, to) {
  const ticks = [];
  for (let m = Math.round((to - from) / 60); m >= 0; m -= 2) ticks.push([to - m * 60, m ? `-${m} min` : "now"]);
  return ticks;
}

/**
 * `series`: [{label, colour, axis: "left"|"right", dashed, points: [[t, value]]}]; `from`, `to`: epoch
 * seconds; `gapSeconds`: a longer pause between samples breaks the line; `floors`: each axis' least top;
 * `ticks(from, to)`: the x axis' [[t, text]]; `wholeNumbers`: value labels only where they are integers
 * (counts). Sizes are in device pixels; `scale` is the device pixel ratio.
 */
export function drawChart(ctx, { series, from, to, gapSeconds, floors, ticks = minutesBack, wholeNumbers = false, scale = 1 }) {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  const left = PAD.left * scale;
  const right = width - PAD.right * scale;
  const top = PAD.top * scale;
  const bottom = height - PAD.bottom * scale;
  if (right <= left || bottom <= top || to <= from) return;
  const axes = new Set(["left", ...series.map((s) => s.axis)]);
  const tops = {};
  for (const axis of ["left", "right"]) {
    const values = series.filter((s) => s.axis === axis).flatMap((s) => s.points.map(([, v]) => v));
    const most = Math.max(0, ...values);
    // whole numbers: a top that four grid lines divide into whole numbers
    tops[axis] = wholeNumbers ? Math.ceil(Math.max(most, floors[axis]) / 4) * 4 : niceMax(most, floors[axis]);
  }
  const x = (t) => left + ((t - from) / (to - from)) * (right - left);
  const y = (value, axis) => bottom - (value / tops[axis]) * (bottom - top);

  ctx.font = `${11 * scale}px system-ui, sans-serif`;
  ctx.lineWidth = scale;
  ctx.strokeStyle = GRID;
  ctx.fillStyle = INK;
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i += 1) {
    const fraction = i / 4;
    const gridY = bottom - fraction * (bottom - top);
    ctx.beginPath();
    ctx.moveTo(left, gridY);
    ctx.lineTo(right, gridY);
    ctx.stroke();
    for (const [axis, align, at] of [["left", "right", left - 4 * scale], ["right", "left", right + 4 * scale]]) {
      const value = tops[axis] * fraction;
      if (!axes.has(axis) || (wholeNumbers && !Number.isInteger(value))) continue;
      ctx.textAlign = align;
      ctx.fillText(axisLabel(value), at, gridY);
    }
  }
  ctx.textBaseline = "top";
  for (const [t, text] of ticks(from, to)) {
    // the ends stay inside the canvas
    ctx.textAlign = t <= from ? "left" : t >= to ? "right" : "center";
    ctx.fillText(text, x(t), bottom + 5 * scale);
  }

  ctx.lineWidth = 2 * scale;
  for (const { colour, axis, dashed, points } of series) {
    ctx.strokeStyle = colour;
    ctx.setLineDash(dashed ? [5 * scale, 4 * scale] : []);
    ctx.beginPath();
    let previous = null;
    for (const [t, value] of points) {
      if (t < from) continue;
      if (previous === null || t - previous > gapSeconds) ctx.moveTo(x(t), y(value, axis));
      else ctx.lineTo(x(t), y(value, axis));
      previous = t;
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
}
