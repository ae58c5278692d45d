"""Where pages are kept and how they are queried: the database and its schema, the writer
the store step hands its batches to, stories, search, the outlet report, each outlet's
learned boilerplate, and riding out a database outage."""
