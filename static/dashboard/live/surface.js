// A canvas a stream is drawn on: it knows its size in device pixels and whether it is on screen, and
// after each draw it records what it drew in data- attributes (data-frames-drawn, data-boxes-drawn,
// data-labels: a JSON list of the boxes' labels, data-last-seq, data-picture-width: the width of the
// JPEG drawn) for whoever watches the page.
import { paintFrame } from "./paint.js";

export class Surface {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.width = 0;
    this.height = 0;
    this.visible = true;
    this.framesDrawn = 0;
    this.resizes = new ResizeObserver(([entry]) => {
      const scale = window.devicePixelRatio || 1;
      this.width = Math.round(entry.contentRect.width * scale);
      this.height = Math.round(entry.contentRect.height * scale);
    });
    this.resizes.observe(canvas);
    this.sightings = new IntersectionObserver(([entry]) => {
      this.visible = entry.isIntersecting;
    });
    this.sightings.observe(canvas);
    this.mark({ "data-frames-drawn": 0, "data-boxes-drawn": 0, "data-labels": "[]" });
  }

  /** Whether a frame could be drawn now: laid out and on screen. */
  get ready() {
    return this.visible && this.width > 0 && this.height > 0;
  }

  /** Draws a decoded frame under the boxes of `layers`; `again`: the frame last drawn, with new labels. */
  paint(bitmap, seq, layers, again = false) {
    if (this.canvas.width !== this.width || this.canvas.height !== this.height) {
      this.canvas.width = this.width;
      this.canvas.height = this.height;
    }
    const labels = paintFrame(this.ctx, bitmap, layers);
    if (!again) this.framesDrawn += 1;
    this.mark({
      "data-frames-drawn": this.framesDrawn, "data-boxes-drawn": labels.length,
      "data-labels": JSON.stringify(labels), "data-last-seq": seq, "data-picture-width": bitmap.width,
    });
  }

  mark(attributes) {
    for (const [name, value] of Object.entries(attributes)) this.canvas.setAttribute(name, value);
  }

  dispose() {
    this.resizes.disconnect();
    this.sightings.disconnect();
  }
}
