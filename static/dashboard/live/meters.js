// Running figures of a stream: results per second, and recent latencies.

/** Events per second over the last `windowSeconds` (or since the meter started, when that is shorter). */
export class RateMeter {
  constructor(windowSeconds = 3) {
    this.window = windowSeconds * 1000;
    this.started = performance.now();
    this.times = [];
  }

  add(now = performance.now()) {
    this.times.push(now);
  }

  rate(now = performance.now()) {
    while (this.times.length && this.times[0] < now - this.window) this.times.shift();
    const span = Math.max(1000, Math.min(this.window, now - this.started));
    return (this.times.length * 1000) / span;
  }
}

/** The median of the latest `size` values, or null before the first. */
export class RecentMedian {
  constructor(size = 30) {
    this.size = size;
    this.values = [];
  }

  add(value) {
    this.values.push(value);
    if (this.values.length > this.size) this.values.shift();
  }

  median() {
    if (!this.values.length) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }
}
