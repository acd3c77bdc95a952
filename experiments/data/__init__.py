"""Where data sets come from: reading IDX files, locating, downloading and verifying them,
decoding them once into a cache of arrays that processes map, Nielsen's split, and a look at
the images (`show-data`). The only code that knows IDX."""
