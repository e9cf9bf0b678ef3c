-- Where a location is, for "nearest store" answers (WGS 84 degrees); both or neither.
ALTER TABLE locations ADD COLUMN latitude double precision, ADD COLUMN longitude double precision,
  ADD CONSTRAINT locations_coordinates CHECK ((latitude IS NULL) = (longitude IS NULL));
