// A form's errors from the API's error shape: the summary at the top of the form (the message and each
// field's messages), and each field's messages next to it.

/** Every message under one field of `fields` (lists of strings, or nested for list fields). */
export function messagesOf(value) {
  if (value == null) return [];
  if (typeof value === "string") return [value];
  return Object.values(value).flatMap(messagesOf);
}

export const FormErrors = {
  name: "FormErrors",
  props: { error: { type: Object, default: null }, labels: { type: Object, default: () => ({}) } },
  computed: {
    fieldLines() {
      const fields = (this.error && this.error.fields) || {};
      return Object.entries(fields).map(([field, value]) => {
        const label = field === "non_field_errors" ? "" : `${this.labels[field] || field}: `;
        return `${label}${messagesOf(value).join(" ")}`;
      });
    },
  },
  template: `
    <div v-if="error" class="form-error" data-testid="form-error" role="alert">
      <p>{{ error.message }}</p>
      <ul v-if="fieldLines.length"><li v-for="line in fieldLines" :key="line">{{ line }}</li></ul>
    </div>`,
};

export const FieldError = {
  name: "FieldError",
  props: { error: { type: Object, default: null }, field: { type: String, required: true } },
  computed: {
    messages() {
      return messagesOf(this.error && this.error.fields && this.error.fields[this.field]);
    },
  },
  template: `<p v-if="messages.length" class="field-error" :data-field="field">{{ messages.join(" ") }}</p>`,
};
