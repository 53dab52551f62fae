"""Job entry points, one module per domain; each calls that domain's services."""
