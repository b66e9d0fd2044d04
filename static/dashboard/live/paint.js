// Drawing a frame with its detections on a canvas: the picture letterboxed to the canvas, then each
// box with its label, its track number when known, and its score, in its queue's colour.

const PALETTE = ["#22d3ee", "#facc15", "#f472b6", "#4ade80", "#fb923c", "#a78bfa"];

const colours = new Map(); // queue -> colour, in the order queues first showed up on this page

/** A colour per queue, the same on every tile: the first queues seen get distinct colours. */
export function queueColour(queue) {
  if (!colours.has(queue)) colours.set(queue, PALETTE[colours.size % PALETTE.length]);
  return colours.get(queue);
}

/** Where a `width` x `height` picture goes in a `canvasWidth` x `canvasHeight` canvas, aspect kept. */
function fitRect(width, height, canvasWidth, canvasHeight) {
  const scale = Math.min(canvasWidth / width, canvasHeight / height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  return { x: Math.floor((canvasWidth - w) / 2), y: Math.floor((canvasHeight - h) / 2), w, h };
}

function drawLabel(ctx, text, x, y, colour, fontPx) {
  const width = ctx.measureText(text).width + 6;
  const top = Math.max(0, y - fontPx - 4);
  ctx.fillStyle = colour;
  ctx.fillRect(x, top, width, fontPx + 4);
  ctx.fillStyle = "#000";
  ctx.fillText(text, x + 3, top + 2);
}

/** A box's label: `person #12 0.91`, or `person 0.91` with no track number. */
function labelText(label, score, track) {
  return track == null ? `${label} ${score.toFixed(2)}` : `${label} #${track} ${score.toFixed(2)}`;
}

/**
 * Draws `bitmap` and the boxes of each `{queue, detections, tracks}` layer (`tracks`, when known, numbers
 * `detections` one for one); returns the labels it drew, one per box.
 */
export function paintFrame(ctx, bitmap, layers) {
  const { width, height } = ctx.canvas;
  const rect = fitRect(bitmap.width, bitmap.height, width, height);
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, rect.x, rect.y, rect.w, rect.h);
  const fontPx = Math.max(11, Math.round(height / 32));
  ctx.font = `${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  ctx.lineWidth = Math.max(2, Math.round(height / 240));
  const labels = [];
  for (const { queue, detections, tracks } of layers) {
    const colour = queueColour(queue);
    ctx.strokeStyle = colour;
    for (const [i, { label, score, box }] of detections.entries()) {
      const [x0, y0, x1, y1] = box;
      const x = rect.x + x0 * rect.w;
      const y = rect.y + y0 * rect.h;
      ctx.strokeRect(x, y, (x1 - x0) * rect.w, (y1 - y0) * rect.h);
      const text = labelText(label, score, tracks?.[i]);
      drawLabel(ctx, text, x, y, colour, fontPx);
      labels.push(text);
    }
  }
  return labels;
}
