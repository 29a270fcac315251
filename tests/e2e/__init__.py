"""End-to-end tests against real gateways (Kannel over SMPP, ...), with simulators behind them."""
