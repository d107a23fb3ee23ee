"""The quickstart's sample cloud: a usage generator, its metrics.yml, a price
book and the driver that rates and serves it (see ``tools/quickstart``)."""
