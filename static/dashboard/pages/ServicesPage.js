// #/services: every inference service with its figures, scaling events and policy.
import { computed } from "vue";
import { usePolledList } from "../core/poll.js";
import ListPage from "../components/ListPage.js";
import ServiceRow from "../components/ServiceRow.js";

export default {
  name: "ServicesPage",
  components: { ListPage, ServiceRow },
  setup() {
    const { items: services, error, refresh } = usePolledList("/api/services/", "services");

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
    <ListPage title="Inference services" records="services" :error="error">
      <p v-if="services && !services.length">No inference services yet.</p>
      <ServiceRow v-for="service in services || []" :key="service.name" :service="service"
                  :shared-with="sharedWith(service)" @changed="changed" />
    </ListPage>`,
};
