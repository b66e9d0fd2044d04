// A write that a form or a button starts: `busy` while it runs (to disable the controls), and what it
// failed with in `error` (an ApiError; cleared when it is tried again).
import { ref } from "vue";

/** `send()` runs `action(...args)` and resolves to its result, or to undefined when it failed. */
export function useSending(action) {
  const busy = ref(false);
  const error = ref(null);
  async function send(...args) {
    busy.value = true;
    error.value = null;
    try {
      return await action(...args);
    } catch (failure) {
      error.value = failure;
      return undefined;
    } finally {
      busy.value = false;
    }
  }
  return { busy, error, send };
}
