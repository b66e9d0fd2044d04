// Repeated reads that keep going through outages: each run starts when the previous one ended, its
// failure is kept for display, and outages are reported to the connection indicator.
import { onBeforeUnmount, ref } from "vue";
import { apiList } from "./api.js";
import { reportDown, reportUp } from "./health.js";

/** Runs `task` now and every `intervalMs` after each run ends, until `stop()`. `refresh()` runs it at once. */
export function startPoll(task, intervalMs, source) {
  const error = ref(null);
  let timer = null;
  let running = false;
  let again = false; // refreshed while running: that run may have read the state before a write
  let stopped = false;

  async function run() {
    clearTimeout(timer);
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    try {
      await task();
      error.value = null;
      reportUp(source);
    } catch (failure) {
      error.value = failure;
      if (failure.isOutage) reportDown(source);
      else reportUp(source);
    } finally {
      running = false;
    }
    if (!stopped) timer = setTimeout(run, again ? 0 : intervalMs);
  }

  run();
  return {
    error,
    refresh: run,
    stop() {
      stopped = true;
      clearTimeout(timer);
      reportUp(source);
    },
  };
}

/** `startPoll` for a component: stops when the component goes away. */
export function usePoll(task, intervalMs, source) {
  const poll = startPoll(task, intervalMs, source);
  onBeforeUnmount(poll.stop);
  return poll;
}

/** For a page: the records at `path`, read every 5 s; `items` is null until the first answer. */
export function usePolledList(path, source) {
  const items = ref(null);
  const poll = usePoll(async () => {
    items.value = await apiList(path);
  }, 5000, source);
  return { items, ...poll };
}
