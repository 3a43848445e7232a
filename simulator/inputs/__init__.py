"""Readers only: vector layers, OpenStreetMap extracts, CityJSON and CityGML models, DEM rasters,
and scenario bundles (zip uploads), each checked as it is read (a one-line error naming the file and
field). May import the base modules (errors, frames, geom, vocabulary, scenario); nothing else."""
