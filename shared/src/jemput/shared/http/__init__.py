"""HTTP pieces every service shares: problem+json errors, health routes, request ids."""
