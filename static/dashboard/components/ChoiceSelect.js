// A <select> (with v-model) over one field's choices as the server lists them (core/choices.js). A value
// the list lacks, as before the list comes, is offered as it is, so that the select still shows what the
// record holds.
export default {
  name: "ChoiceSelect",
  inheritAttrs: false, // id, data-testid ... go to the <select>
  props: {
    modelValue: { type: String, default: "" },
    choices: { type: Object, required: true }, // what choicesOf(path) returned
    field: { type: String, required: true },
  },
  emits: ["update:modelValue"],
  computed: {
    selected: {
      get() {
        return this.modelValue;
      },
      set(value) {
        this.$emit("update:modelValue", value);
      },
    },
    options() {
      const listed = this.choices.fields[this.field] || [];
      const known = !this.modelValue || listed.some((choice) => choice.value === this.modelValue);
      return known ? listed : [{ value: this.modelValue, display_name: this.modelValue }, ...listed];
    },
  },
  template: `
    <select v-bind="$attrs" v-model="selected">
      <option v-for="choice in options" :key="choice.value" :value="choice.value">{{ choice.display_name }}</option>
    </select>
    <p v-if="choices.error" class="field-error" role="alert">Cannot load the options: {{ choices.error.message }}</p>`,
};
