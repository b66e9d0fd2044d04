// The live results of one stream, as full frames or as the workers' smaller previews: its websocket, the
// newest frame waiting to be decoded (one slot, never a queue: a newer message replaces it), each queue's
// latest boxes, the recent track numbers, and the figures shown on its tile.
import { reactive } from "vue";
import { reportUnauthorized } from "../core/api.js";
import { reportDown, reportUp } from "../core/health.js";
import { addToLoop, removeFromLoop } from "./loop.js";
import { parseResult, parseTracks } from "./message.js";
import { RateMeter, RecentMedian } from "./meters.js";
import { ResultSocket } from "./socket.js";
import { TrackBook } from "./tracks.js";

// Another queue's boxes are drawn over a frame only when captured within this many seconds of it.
const LAYER_MAX_SKEW_SECONDS = 2;

window.__eiDrawStats = window.__eiDrawStats || {};

const feedKey = (stream, picture) => `${picture}:${stream}`;

function socketUrl(stream, picture) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/streams/${encodeURIComponent(stream)}/?picture=${picture}`;
}

class StreamFeed {
  constructor(stream, picture) {
    this.stream = stream;
    this.key = feedKey(stream, picture);
    // For whoever measures the page: counts, and the capture-to-drawn seconds of all frames drawn.
    this.stats = window.__eiDrawStats[stream] ||= { received: 0, drawn: 0, replaced: 0, lagSeconds: 0 };
    this.view = reactive({
      state: "connecting", why: "", fps: 0, latency: null, drawLatency: null, queues: [], anyResult: false,
    });
    // At most two frames in hand: `pending`, the newest message not yet decoded (a newer one replaces
    // it), and `current`, the one being decoded or decoded and waiting for the next animation frame.
    // A decode once started is always drawn, so no decoding work is thrown away.
    this.pending = null;
    this.current = null; // {meta, bitmap (once decoded)}
    // The frame on the canvas, kept until the next is drawn: its track numbers may come after it was.
    this.shown = null; // {meta, bitmap, layers}
    this.repaint = false; // track numbers of `shown` came since it was painted
    this.latest = new Map(); // queue -> meta of its newest result
    this.tracks = new TrackBook();
    this.surface = null; // the canvas it is drawn on, while one is on the page
    this.users = 0;
    this.disposed = false;
    this.rate = new RateMeter();
    this.latency = new RecentMedian();
    this.drawLatency = new RecentMedian();
    this.socket = new ResultSocket(socketUrl(stream, picture), {
      onMessage: (data) => this.receive(data),
      onState: (state, why, code) => this.changed(state, why, code),
    });
    this.publisher = setInterval(() => this.publish(), 500);
    addToLoop(this);
  }

  changed(state, why = "", code = 0) {
    Object.assign(this.view, { state, why });
    if (state === "reconnecting") reportDown(`socket:${this.key}`);
    else reportUp(`socket:${this.key}`);
    if (code === 4401) reportUnauthorized();
  }

  receive(data) {
    if (typeof data === "string") {
      this.receiveTracks(data);
      return;
    }
    let frame;
    try {
      frame = parseResult(data);
    } catch {
      return; // not a result message: nothing to draw
    }
    const { meta } = frame;
    this.stats.received += 1;
    this.rate.add();
    this.latency.add(meta.ts_done - meta.ts_capture);
    if (!this.latest.has(meta.queue)) {
      this.view.queues = [...this.latest.keys(), meta.queue].sort();
      this.view.anyResult = true;
    }
    this.latest.set(meta.queue, meta);
    if (this.pending) this.stats.replaced += 1;
    this.pending = frame;
    this.decodeNext();
  }

  receiveTracks(text) {
    let message;
    try {
      message = parseTracks(text);
    } catch {
      return; // not a tracks message
    }
    this.tracks.add(message);
    if (this.shown?.layers.some(({ queue, seq }) => queue === message.queue && seq === message.seq)) {
      this.repaint = true;
    }
  }

  /** Decodes the pending frame, unless one is in hand already or the canvas is off screen. */
  async decodeNext() {
    const frame = this.pending;
    if (!frame || this.current || !this.surface?.ready) return;
    this.pending = null;
    this.current = { meta: frame.meta, bitmap: null };
    try {
      // At full size: Chromium decodes so faster than with createImageBitmap's resize options (measured).
      const bitmap = await createImageBitmap(new Blob([frame.jpeg], { type: "image/jpeg" }));
      if (this.disposed) bitmap.close();
      else this.current.bitmap = bitmap;
    } catch {
      this.current = null; // an undecodable JPEG: counted neither drawn nor replaced
      this.decodeNext();
    }
  }

  /** One animation frame: draw the decoded frame, then start on the next (its canvas may have come on screen). */
  step() {
    if (this.current?.bitmap && this.surface) this.draw();
    else if (this.repaint && this.surface) this.paintShown(true);
    this.decodeNext();
  }

  /** Boxes to draw over a frame: its own, and each other queue's newest result captured near it. */
  layers(meta) {
    const layers = [{ queue: meta.queue, seq: meta.seq, detections: meta.detections }];
    for (const [queue, other] of this.latest) {
      if (queue !== meta.queue && Math.abs(other.ts_capture - meta.ts_capture) <= LAYER_MAX_SKEW_SECONDS) {
        layers.push({ queue, seq: other.seq, detections: other.detections });
      }
    }
    return layers;
  }

  draw() {
    const { meta, bitmap } = this.current;
    this.current = null;
    this.shown?.bitmap.close();
    this.shown = { meta, bitmap, layers: this.layers(meta) };
    this.paintShown(false);
    const lag = Date.now() / 1000 - meta.ts_capture;
    this.stats.drawn += 1;
    this.stats.lagSeconds += lag;
    this.drawLatency.add(lag);
  }

  /** Paints the shown frame with the track numbers known now; `again`: it was painted before. */
  paintShown(again) {
    const { meta, bitmap, layers } = this.shown;
    this.repaint = false;
    const numbered = layers.map((layer) => ({ ...layer, tracks: this.tracks.get(layer.queue, layer.seq) }));
    this.surface.paint(bitmap, meta.seq, numbered, again);
  }

  /** Copies the running figures into the reactive view, twice a second rather than on every message. */
  publish() {
    Object.assign(this.view, {
      fps: this.rate.rate(), latency: this.latency.median(), drawLatency: this.drawLatency.median(),
    });
  }

  dispose() {
    this.disposed = true;
    removeFromLoop(this);
    clearInterval(this.publisher);
    this.socket.close();
    this.current?.bitmap?.close();
    this.current = null;
    this.shown?.bitmap.close();
    this.shown = null;
    reportUp(`socket:${this.key}`);
  }
}

const feeds = new Map();

/**
 * The feed of `stream`'s `picture` ("full" frames, or "preview": small copies, for tiles), shared by
 * whoever shows it; give it back with `releaseFeed`.
 */
export function acquireFeed(stream, picture) {
  let feed = feeds.get(feedKey(stream, picture));
  if (!feed) {
    feed = new StreamFeed(stream, picture);
    feeds.set(feed.key, feed);
  }
  feed.users += 1;
  return feed;
}

export function releaseFeed(feed) {
  feed.users -= 1;
  if (feed.users === 0) {
    feeds.delete(feed.key);
    feed.dispose();
  }
}
