"""Questions in, short cited answers out: settings, question understanding, retrieval chain, CLI."""
