// A card with a table of records: the column headings, the page's rows (the default slot, one <tr> a
// record), and a line that says so when there are none. `records` is null until they are first read.
export default {
  name: "RecordsTable",
  props: {
    columns: { type: Array, required: true }, // the headings
    records: { type: Array, default: null },
    empty: { type: String, required: true }, // shown when there are no records
  },
  template: `
    <div class="card table-box">
      <table>
        <thead><tr><th v-for="column in columns" :key="column">{{ column }}</th></tr></thead>
        <tbody>
          <slot></slot>
          <tr v-if="records && !records.length"><td :colspan="columns.length" class="muted">{{ empty }}</td></tr>
        </tbody>
      </table>
    </div>`,
};
