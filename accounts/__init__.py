"""Who may do what: staff accounts and roles, organisation API keys, guards."""
