"""Where data sets come from: reading IDX files, locating, downloading and verifying them,
Nielsen's split, and a look at the images (`show-data`). The only code that knows IDX."""
