// #/services: every inference service with its figures, scaling events and policy.
import { computed, ref } from "vue";
import { apiList } from "../core/api.js";
import { usePoll } from "../core/poll.js";
import ServiceRow from "../components/ServiceRow.js";

export default {
  name: "ServicesPage",
  components: { ServiceRow },
  setup() {
    const services = ref(null);
    const { error, refresh } = usePoll(async () => {
      services.value = await apiList("/api/services/");
    }, 5000, "services");

    const usersOf = computed(() => {
      const users = {};
      for (const { name, scaling_policy: policy } of services.value || []) (users[policy] ||= []).push(name);
      return users;
    });
    const sharedWith = (service) => (usersOf.value[service.scaling_policy] || []).filter((name) => name !== service.name);

    function changed(updated) {
      services.value = services.value.map((service) => (service.name === updated.name ? updated : service));
      refresh();
    }
    return { services, error, sharedWith, changed };
  },
  template: `
    <section class="page">
      <h1>Inference services</h1>
      <p v-if="error" class="error" role="alert">Cannot list the services: {{ error.message }}</p>
      <p v-if="services && !services.length">No inference services yet.</p>
      <ServiceRow v-for="service in services || []" :key="service.name" :service="service"
                  :shared-with="sharedWith(service)" @changed="changed" />
    </section>`,
};
