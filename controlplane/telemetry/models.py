"""No tables: this app works on Redis."""
