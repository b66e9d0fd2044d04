// Live fleet figures from /api/metrics/, polled every 2 s for as long as the user may read. Answers 503
// while Redis is away, so this poll also tells the connection indicator about Redis.
import { reactive } from "vue";
import { api } from "./api.js";
import { startPoll } from "./poll.js";

export const fleet = reactive({ streams: {}, services: {} });

const byName = (items) => Object.fromEntries(items.map((item) => [item.name, item]));
let poll = null;

export function startFleetPoll() {
  poll ||= startPoll(async () => {
    const metrics = await api("/api/metrics/");
    fleet.streams = byName(metrics.streams);
    fleet.services = byName(metrics.services);
  }, 2000, "metrics");
}

export function stopFleetPoll() {
  poll?.stop();
  poll = null;
}
