// The frame of a page that lists records: its heading, why the records cannot be listed when they
// cannot (the poll goes on, and the message goes once it gets through), then the page's own content.
export default {
  name: "ListPage",
  props: {
    title: { type: String, required: true },
    records: { type: String, required: true }, // what is listed, as in "Cannot list the streams"
    error: { type: Object, default: null }, // the list's poll's failure
  },
  template: `
    <section class="page">
      <h1>{{ title }}</h1>
      <p v-if="error" class="error" role="alert">Cannot list the {{ records }}: {{ error.message }}</p>
      <slot></slot>
    </section>`,
};
