"""docent: the application (settings, services, retrieval, generation, web, CLI)."""
