// Renders the service's OpenAPI document with the embedded Swagger UI (nothing is fetched from elsewhere).
window.ui = SwaggerUIBundle({
  url: "/openapi/v1.json",
  dom_id: "#reference",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
});
