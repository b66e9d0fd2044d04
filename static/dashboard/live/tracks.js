// The track numbers of a stream's recent results, from its tracks messages: per queue, seq -> tracks,
// where tracks[i] numbers the result's detections[i] (null: not tracked). They come a few ms to half a
// second after their result, so only the last few results of each queue are kept.

const KEPT_PER_QUEUE = 64;

export class TrackBook {
  constructor() {
    this.queues = new Map(); // queue -> Map(seq -> tracks), oldest first
  }

  /** Notes one tracks message's numbers, forgetting the queue's oldest beyond the last 64. */
  add({ queue, seq, tracks }) {
    let recent = this.queues.get(queue);
    if (!recent) this.queues.set(queue, (recent = new Map()));
    recent.delete(seq); // a repeat counts as the newest
    recent.set(seq, tracks);
    if (recent.size > KEPT_PER_QUEUE) recent.delete(recent.keys().next().value);
  }

  /** The numbers of the result of `queue` with `seq`, or undefined while unknown. */
  get(queue, seq) {
    return this.queues.get(queue)?.get(seq);
  }
}
