"""The gateway engines: the contract (base), the registry, and one module per kind of gateway."""
