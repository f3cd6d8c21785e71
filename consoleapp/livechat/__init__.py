"""Everything that speaks LiveChat. Nothing in this package imports Flask or the database."""
