// Whether the dashboard hears from the server: each poll and websocket reports under its own name,
// and the header says "reconnecting" while any of them cannot get through.
import { computed, reactive } from "vue";

const failing = reactive(new Set());

export const connection = computed(() => (failing.size ? "reconnecting" : "live"));

export function reportDown(source) {
  failing.add(source);
}

/** Also used when a source goes away: a poll that stopped says nothing about the server any more. */
export function reportUp(source) {
  failing.delete(source);
}
