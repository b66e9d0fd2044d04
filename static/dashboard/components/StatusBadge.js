// A record's fleet status (ready, degraded, failed ...) as a coloured word; its reason on hover.
export default {
  name: "StatusBadge",
  props: { status: { type: String, default: "" }, message: { type: String, default: "" } },
  template: `<span class="status" :class="'status-' + status" data-testid="status" :title="message">{{ status || "unknown" }}</span>`,
};
