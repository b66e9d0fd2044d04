// One requestAnimationFrame loop for every stream on the page: each frame, each feed draws what it has
// decoded and starts decoding its newest message. Runs only while some feed is on the page.

const feeds = new Set();
let handle = 0;

function tick() {
  for (const feed of feeds) feed.step();
  handle = feeds.size ? requestAnimationFrame(tick) : 0;
}

export function addToLoop(feed) {
  feeds.add(feed);
  handle ||= requestAnimationFrame(tick);
}

export function removeFromLoop(feed) {
  feeds.delete(feed);
}
