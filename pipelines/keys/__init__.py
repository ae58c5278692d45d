"""What recognises a copy: canonical URLs, and the text hash and story signature
computed in the extraction workers and compared by the dedupe step and the archive."""
