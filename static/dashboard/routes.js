// The dashboard's pages, in the order the header lists them: the one table that the router (core/router.js)
// and the header (components/AppHeader.js) read. `path` may hold ":name" segments: each matches one segment
// of the URL and is given to the page as its prop `name`. `title` is the document's (a function of those
// props where they matter). `nav`: listed in the header. `needsReader`: only for who may read (a logged-in
// user, or anybody when the server opens reading to all); who may not is sent to the login page.
import HistoryPage from "./pages/HistoryPage.js";
import LivePage from "./pages/LivePage.js";
import LoginPage from "./pages/LoginPage.js";
import ModelsPage from "./pages/ModelsPage.js";
import ServicesPage from "./pages/ServicesPage.js";
import StreamPage from "./pages/StreamPage.js";
import StreamsPage from "./pages/StreamsPage.js";

export const ROUTES = [
  { path: "/live", name: "live", title: "Live", component: LivePage, nav: true, needsReader: true },
  { path: "/live/:stream", name: "live-stream", title: ({ stream }) => `${stream} · Live`, component: StreamPage,
    nav: false, needsReader: true },
  { path: "/services", name: "services", title: "Services", component: ServicesPage, nav: true, needsReader: true },
  { path: "/streams", name: "streams", title: "Streams", component: StreamsPage, nav: true, needsReader: true },
  { path: "/models", name: "models", title: "Models", component: ModelsPage, nav: true, needsReader: true },
  { path: "/history", name: "history", title: "History", component: HistoryPage, nav: true, needsReader: true },
  { path: "/login", name: "login", title: "Log in", component: LoginPage, nav: false, needsReader: false },
];

/** Where an empty or unknown URL goes. */
export const DEFAULT_PATH = "/live";
