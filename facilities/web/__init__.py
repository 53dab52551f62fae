"""Cross-cutting web plumbing with no domain rules: templating, authentication, CSRF, locale,
responses and error pages."""
