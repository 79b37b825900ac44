/* Starts the vendored Swagger UI on this server's OpenAPI schema (no inline script: works under a strict CSP). */
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", docExpansion: "list", defaultModelsExpandDepth: 0 });
});
