"""The extraction worker processes: the pool the extract step feeds, and the workers
that load the extractors once, fork from each other and give back their heap."""
