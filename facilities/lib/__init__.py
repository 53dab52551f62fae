"""Pure helpers: no Litestar or Piccolo imports, so any layer may use them."""
